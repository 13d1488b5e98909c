import Coordination
@testable import CoordinatorRole
import NIOCore
import Testing
import TestSupport

/// The batch body a follower sends its leader, and the leader's replies: what goes in comes out, and any bytes
/// either decode or are refused with a reason, never a trap (seeded random inputs, and valid bodies cut, flipped
/// and lengthened).
@Suite struct ForwardedPutsTests {
    static let alphabet: [Character] = ["a", "Z", "0", "/", " ", "\"", "\\", "\n", "\0", "é", "€", "𝄞", "\u{7F}"]

    static func text(_ random: inout SeededGenerator, upTo length: Int) -> String {
        String((0..<Int.random(in: 0...length, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func requests(_ random: inout SeededGenerator) -> [PutRequest] {
        (0..<Int.random(in: 0...20, using: &random)).map { _ in
            PutRequest(
                key: text(&random, upTo: 12), value: text(&random, upTo: 300), mode: Bool.random(using: &random) ? .append : .overwrite,
                idempotencyKey: Bool.random(using: &random) ? text(&random, upTo: 20) : nil)
        }
    }

    static func replies(_ random: inout SeededGenerator) -> [ForwardedPuts.Reply] {
        (0..<Int.random(in: 0...20, using: &random)).map { _ in
            ForwardedPuts.Reply(
                status: [201, 409, 503, 413].randomElement(using: &random)!, replayed: Bool.random(using: &random),
                contentType: Bool.random(using: &random) ? "application/json" : nil, body: ByteBuffer(string: text(&random, upTo: 200)))
        }
    }

    @Test func whatGoesInComesOut() throws {
        var random = SeededGenerator(seed: 15)
        for _ in 0..<300 {
            let requests = Self.requests(&random)
            #expect(try ForwardedPuts.decodeRequests(ForwardedPuts.encode(requests)) == requests)
            let replies = Self.replies(&random)
            #expect(try ForwardedPuts.decodeReplies(ForwardedPuts.encode(replies)) == replies)
        }
        let big = PutRequest(key: "k", value: String(repeating: "x", count: 1 << 20))
        #expect(try ForwardedPuts.decodeRequests(ForwardedPuts.encode([big, big])) == [big, big])
    }

    @Test func malformedBodiesAreRefusedWithAReason() {
        func refusal(_ bytes: [UInt8]) -> String? {
            do {
                _ = try ForwardedPuts.decodeRequests(ByteBuffer(bytes: bytes))
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(refusal([]) == "empty")
        #expect(refusal([2, 0, 0]) == "version 2, expected 1")
        #expect(refusal([1, 0]) == "no count")
        #expect(refusal([1, 0, 1]) == "Put 0 of 1 is cut short")
        #expect(refusal([1, 0, 1, 2, 0]) == "Put 0 has mode 2")
        #expect(refusal([1, 0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]) == "the key of Put 0 is cut short", "a length past the bytes present")
        #expect(refusal([1, 0, 1, 0, 0, 0, 0, 0, 1, 0xC3]) == "the key of Put 0 is not UTF-8")
        #expect(refusal([1, 0, 0, 9]) == "1 bytes after the last Put")
        #expect(refusal([1, 0, 0]) == nil, "no Puts at all is a valid body")
    }

    /// Random bytes, and valid bodies with a byte flipped, bytes cut off the end or added: decoded or refused.
    @Test func anyBytesDecodeOrAreRefused() {
        var random = SeededGenerator(seed: 1015)
        var accepted = 0
        for round in 0..<3000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if Bool.random(using: &random), !bytes.isEmpty { bytes[0] = ForwardedPuts.version }
            default:
                let body = round % 2 == 0 ? ForwardedPuts.encode(Self.requests(&random)) : ForwardedPuts.encode(Self.replies(&random))
                bytes = Array(body.readableBytesView)
                switch round % 4 {
                case 1 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                case 2: bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
                default: bytes += (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                }
            }
            if (try? ForwardedPuts.decodeRequests(ByteBuffer(bytes: bytes))) != nil { accepted += 1 }
            if (try? ForwardedPuts.decodeReplies(ByteBuffer(bytes: bytes))) != nil { accepted += 1 }
        }
        #expect(accepted > 0, "some inputs get past the first checks")
    }
}
