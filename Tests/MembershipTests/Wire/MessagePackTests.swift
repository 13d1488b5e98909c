import Testing

@testable import Membership

/// The msgpack writer against a small reference written from the spec's tables, over seeded random values,
/// and the reader's limits.
@Suite struct MessagePackTests {
    /// The reference: go-msgpack v0.5's choices written as plainly as possible.
    private func reference(_ value: MessagePackValue) -> [UInt8] {
        func be(_ number: UInt64, _ size: Int) -> [UInt8] { (0..<size).reversed().map { UInt8(truncatingIfNeeded: number >> (8 * UInt64($0))) } }
        func header(_ count: Int, fix: UInt8, b16: UInt8, b32: UInt8) -> [UInt8] {
            count <= 15 ? [fix + UInt8(count)] : count <= 65535 ? [b16] + be(UInt64(count), 2) : [b32] + be(UInt64(count), 4)
        }
        switch value {
        case .nil: return [0xc0]
        case .bool(let flag): return [flag ? 0xc3 : 0xc2]
        case .uint(let n):
            if n < 128 { return [UInt8(n)] }
            if n < 256 { return [0xcc, UInt8(n)] }
            if n < 65536 { return [0xcd] + be(n, 2) }
            if n < 1 << 32 { return [0xce] + be(n, 4) }
            return [0xcf] + be(n, 8)
        case .int(let n):
            if n >= 0 { return reference(.uint(UInt64(n))) }
            let bits = UInt64(bitPattern: n)
            if n >= -32 { return [UInt8(truncatingIfNeeded: bits)] }
            if n >= -128 { return [0xd0, UInt8(truncatingIfNeeded: bits)] }
            if n >= -32768 { return [0xd1] + be(bits, 2) }
            if n >= -(1 << 31) { return [0xd2] + be(bits, 4) }
            return [0xd3] + be(bits, 8)
        case .float(let f): return [0xcb] + be(f.bitPattern, 8)
        case .raw(let bytes):
            let head: [UInt8] = bytes.count <= 31 ? [0xa0 + UInt8(bytes.count)] : bytes.count <= 65535 ? [0xda] + be(UInt64(bytes.count), 2) : [0xdb] + be(UInt64(bytes.count), 4)
            return head + bytes
        case .array(let elements): return header(elements.count, fix: 0x90, b16: 0xdc, b32: 0xdd) + elements.flatMap(reference)
        case .map(let pairs): return header(pairs.count, fix: 0x80, b16: 0xde, b32: 0xdf) + pairs.flatMap { reference($0.key) + reference($0.value) }
        case .ext(let type, let data):
            let fixed: [Int: UInt8] = [1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8]
            let head: [UInt8] = fixed[data.count].map { [$0] } ?? (data.count < 256 ? [0xc7, UInt8(data.count)] : [0xc8] + be(UInt64(data.count), 2))
            return head + [UInt8(bitPattern: type)] + data
        }
    }

    /// The value the reader returns for what the writer wrote: non-negative signed integers come back unsigned.
    private func normalized(_ value: MessagePackValue) -> MessagePackValue {
        switch value {
        case .int(let n) where n >= 0: .uint(UInt64(n))
        case .array(let elements): .array(elements.map(normalized))
        case .map(let pairs): .map(pairs.map { MessagePackPair(normalized($0.key), normalized($0.value)) })
        default: value
        }
    }

    private func randomValue(_ generator: inout some RandomNumberGenerator, depth: Int) -> MessagePackValue {
        let lengths = [0, 1, 15, 16, 31, 32, 255, 256, 300]
        switch Int.random(in: 0..<(depth > 3 ? 8 : 10), using: &generator) {
        case 0: return .nil
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .uint([0, 127, 128, 255, 256, 65535, 65536, UInt64(UInt32.max), UInt64(UInt32.max) + 1, .max, UInt64.random(in: 0...UInt64.max, using: &generator)].randomElement(using: &generator)!)
        case 3: return .int([-1, -32, -33, -128, -129, -32768, -32769, Int64(Int32.min), Int64(Int32.min) - 1, .min, Int64.random(in: .min ... -1, using: &generator)].randomElement(using: &generator)!)
        case 4: return .float(Double.random(in: -1e9...1e9, using: &generator))
        case 5, 6:
            let count = lengths.randomElement(using: &generator)! + (Bool.random(using: &generator) ? 65536 - 300 : 0) * 0
            return .raw((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        case 7: return .ext(type: Int8.random(in: -128...127, using: &generator), data: Array(repeating: 1, count: [1, 2, 4, 8, 16, 3, 300].randomElement(using: &generator)!))
        case 8: return .array((0..<[0, 3, 16].randomElement(using: &generator)!).map { _ in randomValue(&generator, depth: depth + 1) })
        default:
            return .map((0..<[0, 2, 17].randomElement(using: &generator)!).map { _ in
                MessagePackPair(randomValue(&generator, depth: depth + 1), randomValue(&generator, depth: depth + 1))
            })
        }
    }

    @Test func seededRandomValuesMatchTheReferenceAndRoundTrip() throws {
        var generator = SplitMix64(seed: 0x6d73_6770)
        for _ in 0..<2000 {
            let value = randomValue(&generator, depth: 0)
            var writer = MessagePackWriter()
            writer.write(value)
            #expect(writer.bytes == reference(value))
            #expect(try MessagePackReader.decode(writer.bytes) == normalized(value))
        }
    }

    @Test func largeRawsUseRaw16AndRaw32NeverStr8() throws {
        for count in [31, 32, 255, 256, 65535, 65536] {
            var writer = MessagePackWriter()
            writer.writeRaw(Array(repeating: 0x61, count: count))
            let marker: UInt8 = count < 32 ? 0xa0 | UInt8(count) : count < 65536 ? 0xda : 0xdb
            #expect(writer.bytes[0] == marker)
            #expect(try MessagePackReader.decode(writer.bytes) == .raw(Array(repeating: 0x61, count: count)))
        }
    }

    @Test func newSpecFormsAreRead() throws {
        #expect(try MessagePackReader.decode([0xd9, 2, 0x68, 0x69]) == .string("hi"))
        #expect(try MessagePackReader.decode([0xc4, 1, 7]) == .raw([7]))
        #expect(try MessagePackReader.decode([0xc5, 0, 1, 7]) == .raw([7]))
        #expect(try MessagePackReader.decode([0xc6, 0, 0, 0, 1, 7]) == .raw([7]))
        #expect(try MessagePackReader.decode([0xca, 0x3f, 0x80, 0, 0]) == .float(1))
    }

    @Test func limitsRefuseBadInputWithoutAllocating() {
        // Deep nesting.
        let deep = [UInt8](repeating: 0x91, count: 100) + [0xc0]
        #expect(throws: WireError.tooDeep(limit: MessagePackReader.defaultMaximumDepth)) { try MessagePackReader.decode(deep) }
        // Lengths and counts past the end.
        for bytes: [UInt8] in [[0xdb, 0xff, 0xff, 0xff, 0xff], [0xdd, 0xff, 0xff, 0xff, 0xff, 1], [0xdf, 0x7f, 0xff, 0xff, 0xff, 1, 2], [0xc9, 0xff, 0xff, 0xff, 0xff, 1], [0xcf, 1], [0xa5, 1]] {
            #expect(throws: WireError.self) { try MessagePackReader.decode(bytes) }
        }
        #expect(throws: WireError.invalidMessagePackByte(0xc1, offset: 0)) { try MessagePackReader.decode([0xc1]) }
        #expect(throws: WireError.trailingBytes(1)) { try MessagePackReader.decode([0xc0, 0xc0]) }
        #expect(throws: WireError.self) { try MessagePackReader.decode([]) }
    }
}

/// A small deterministic generator for seeded tests (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
