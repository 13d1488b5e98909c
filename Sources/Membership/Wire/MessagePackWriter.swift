/// Writes msgpack exactly as go-msgpack v0.5 does for memberlist (hashicorp/go-msgpack `codec/msgpack.go`,
/// `encodeInt`/`encodeUint`/`writeContainerLen` with `WriteExt` false):
///
/// - integers in the smallest form, non-negative ones always unsigned (fixint, 0xcc, 0xcd, 0xce, 0xcf), negative
///   ones as negative fixint or 0xd0–0xd3;
/// - strings and byte slices in the old spec's raw family: fixraw 0xa0–0xbf, then raw16 0xda, raw32 0xdb (never
///   str8 0xd9 nor bin, which need `WriteExt`); a nil Go slice is written as nil 0xc0;
/// - arrays and maps as fix (up to 15 entries), then 16- and 32-bit forms (struct fields sorted by name, see
///   ``MessageBody``);
/// - floats as float64 0xcb.
public struct MessagePackWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: MessagePackValue) {
        switch value {
        case .nil: bytes.append(0xc0)
        case .bool(let flag): bytes.append(flag ? 0xc3 : 0xc2)
        case .int(let number): writeInt(number)
        case .uint(let number): writeUInt(number)
        case .float(let number):
            bytes.append(0xcb)
            appendBigEndian(number.bitPattern, size: 8)
        case .raw(let raw): writeRaw(raw)
        case .array(let elements):
            writeArrayHeader(elements.count)
            for element in elements { write(element) }
        case .map(let pairs):
            writeMapHeader(pairs.count)
            for pair in pairs {
                write(pair.key)
                write(pair.value)
            }
        case .ext(let type, let data): writeExt(type: type, data: data)
        }
    }

    public mutating func writeNil() { bytes.append(0xc0) }

    public mutating func writeBool(_ flag: Bool) { bytes.append(flag ? 0xc3 : 0xc2) }

    public mutating func writeUInt(_ number: UInt64) {
        switch number {
        case 0...0x7f: bytes.append(UInt8(number))
        case 0x80...0xff: bytes.append(contentsOf: [0xcc, UInt8(number)])
        case 0x100...0xffff:
            bytes.append(0xcd)
            appendBigEndian(number, size: 2)
        case 0x1_0000...0xffff_ffff:
            bytes.append(0xce)
            appendBigEndian(number, size: 4)
        default:
            bytes.append(0xcf)
            appendBigEndian(number, size: 8)
        }
    }

    public mutating func writeInt(_ number: Int64) {
        if number >= 0 { return writeUInt(UInt64(number)) }
        let pattern = UInt64(bitPattern: number)
        if number >= -32 {
            bytes.append(UInt8(truncatingIfNeeded: pattern))
        } else if number >= Int64(Int8.min) {
            bytes.append(contentsOf: [0xd0, UInt8(truncatingIfNeeded: pattern)])
        } else if number >= Int64(Int16.min) {
            bytes.append(0xd1)
            appendBigEndian(pattern, size: 2)
        } else if number >= Int64(Int32.min) {
            bytes.append(0xd2)
            appendBigEndian(pattern, size: 4)
        } else {
            bytes.append(0xd3)
            appendBigEndian(pattern, size: 8)
        }
    }

    /// A Go string or `[]byte` (non-nil) in the old spec's raw family.
    public mutating func writeRaw(_ raw: some Collection<UInt8>) {
        let count = raw.count
        if count < 32 {
            bytes.append(0xa0 | UInt8(count))
        } else if count < 0x1_0000 {
            bytes.append(0xda)
            appendBigEndian(UInt64(count), size: 2)
        } else {
            bytes.append(0xdb)
            appendBigEndian(UInt64(count), size: 4)
        }
        bytes.append(contentsOf: raw)
    }

    public mutating func writeString(_ text: String) { writeRaw(text.utf8) }

    public mutating func writeArrayHeader(_ count: Int) {
        writeContainerHeader(count, fix: 0x90, b16: 0xdc, b32: 0xdd)
    }

    public mutating func writeMapHeader(_ count: Int) {
        writeContainerHeader(count, fix: 0x80, b16: 0xde, b32: 0xdf)
    }

    /// Appends bytes that are already msgpack (or raw data following it on a stream).
    public mutating func append(contentsOf raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    private mutating func writeContainerHeader(_ count: Int, fix: UInt8, b16: UInt8, b32: UInt8) {
        if count < 16 {
            bytes.append(fix | UInt8(count))
        } else if count < 0x1_0000 {
            bytes.append(b16)
            appendBigEndian(UInt64(count), size: 2)
        } else {
            bytes.append(b32)
            appendBigEndian(UInt64(count), size: 4)
        }
    }

    private mutating func writeExt(type: Int8, data: [UInt8]) {
        let fixed: [Int: UInt8] = [1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8]
        if let marker = fixed[data.count] {
            bytes.append(marker)
        } else if data.count < 0x100 {
            bytes.append(contentsOf: [0xc7, UInt8(data.count)])
        } else if data.count < 0x1_0000 {
            bytes.append(0xc8)
            appendBigEndian(UInt64(data.count), size: 2)
        } else {
            bytes.append(0xc9)
            appendBigEndian(UInt64(data.count), size: 4)
        }
        bytes.append(UInt8(bitPattern: type))
        bytes.append(contentsOf: data)
    }

    private mutating func appendBigEndian(_ number: UInt64, size: Int) {
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: number >> UInt64(shift)))
        }
    }
}
