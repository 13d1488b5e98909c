import PropertyBased
import Testing

@testable import Membership

/// Every decoder of network bytes takes any bytes and either decodes or throws: random bytes, and real
/// captured packets with bytes flipped, inserted, dropped or cut. A trap here fails the whole test run.
@Suite struct DecoderPropertyTests {
    private static let bytes = Gen<UInt8>.uint8().array(of: 0...400)
    private static let key = Array(repeating: UInt8(3), count: 16)

    /// Runs every decoder over `input`; none may trap. Returns how many accepted it (to show the inputs reach
    /// past the first check sometimes).
    @discardableResult
    private static func decodeEverything(_ input: [UInt8]) -> Int {
        var accepted = 0
        if (try? MessagePackReader.decode(input)) != nil { accepted += 1 }
        if (try? Message.decode(input)) != nil { accepted += 1 }
        for type in MessageType.allCases where type != .user {
            if (try? Message.decode([type.rawValue] + input)) != nil { accepted += 1 }
        }
        _ = PacketContents(input)
        _ = try? Compound(decoding: input)
        _ = try? LZW.decompress(input, maximumOutput: 1 << 16)
        _ = try? PacketFrame().open(input)
        if let ring = try? Keyring(keys: [key]) {
            _ = try? ring.decrypt(input)
            _ = try? PacketFrame(keyring: ring).open(input)
            _ = try? StreamFrame(keyring: ring).decode(input)
        }
        _ = try? StreamFrame().decode(input)
        _ = try? SerfMessage.decode(input)
        _ = try? SerfTags.decode(input)
        if var layer = try? SerfLayer(nodeName: "n", tags: [:]) {
            _ = try? layer.receive(input)
            _ = try? layer.mergeRemoteState(input)
        }
        return accepted
    }

    @Test func randomBytes() async {
        await propertyCheck(count: 2000, input: Self.bytes) { input in
            Self.decodeEverything(input)
        }
    }

    @Test func randomBytesAfterEachTypeByte() async {
        await propertyCheck(count: 1000, input: Gen<UInt8?>.element(of: MessageType.allCases.map(\.rawValue) + [0x80, 0x90, 0xde, 0xdc]), Self.bytes) { type, input in
            Self.decodeEverything([type ?? 0] + input)
        }
    }

    @Test func mutatedCapturedPackets() async throws {
        let captures = try CapturedTraffic.captures("plain").map(\.bytes) + CapturedTraffic.captures("encrypted").map(\.bytes)
        let ring = try Keyring(keys: [Keyring.decodeKey(base64: CapturedTraffic.key())])
        let openedCaptures = captures.compactMap { try? PacketFrame(keyring: ring, verifyIncoming: false).open($0) }
        let pool = captures + openedCaptures
        await propertyCheck(
            count: 3000, input: Gen<Int>.int(in: 0..<pool.count), Gen<Int>.int(in: 0...3), Gen<Int>.int(in: 0...100_000),
            Gen<UInt8>.uint8()
        ) { index, kind, position, byte in
            var mutated = pool[index]
            let at = mutated.isEmpty ? 0 : position % mutated.count
            switch kind {
            case 0 where !mutated.isEmpty: mutated[at] = byte
            case 1: mutated.insert(byte, at: at)
            case 2 where !mutated.isEmpty: mutated.remove(at: at)
            default: mutated = Array(mutated.prefix(at))
            }
            Self.decodeEverything(mutated)
            _ = try? PacketFrame(keyring: ring).open(mutated)
            _ = try? StreamFrame(keyring: ring).decode(mutated)
        }
    }

    @Test func hostileLengthsAndNesting() {
        // Huge declared lengths, counts and nesting in every position a decoder reads one.
        let hostile: [[UInt8]] = [
            [0x06, 0x83, 0xa5] + Array("Nodes".utf8) + [0xce, 0x7f, 0xff, 0xff, 0xff],
            [0x06, 0x81, 0xac] + Array("UserStateLen".utf8) + [0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            [0x06, 0x81, 0xa5] + Array("Nodes".utf8) + [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
            [0x07, 0xff] + Array(repeating: 0xff, count: 510),
            [0x0a, 0xff, 0xff, 0xff, 0xff],
            [0x08, 0x81, 0xaa] + Array("UserMsgLen".utf8) + [0xce, 0xff, 0xff, 0xff, 0xff],
            [0x09] + Array(repeating: 0x91, count: 10_000),
            Array(repeating: 0x07, count: 1000),
            [0xf4, 0xff],
        ]
        for input in hostile {
            #expect(Self.decodeEverything(input) >= 0)
        }
        #expect(throws: WireError.self) { try Message.decode([0x06] + Array(repeating: 0x91, count: 10_000)) }
    }
}
