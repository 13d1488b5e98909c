import ObjectStore
import Testing
import TestSupport

/// The hand-written SigV4 encoding against a plain reference (a byte at a time, a table of unreserved
/// characters), on seeded random byte strings biased towards the characters that differ between encoders.
@Suite struct SigV4EncodingTests {
    static func reference(_ bytes: [UInt8], keepingSlash: Bool) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        return bytes.map { byte in
            if unreserved.contains(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                return String(UnicodeScalar(byte))
            }
            let hex = String(byte, radix: 16, uppercase: true)
            return "%" + (hex.count == 1 ? "0" + hex : hex)
        }.joined()
    }

    static func randomBytes(_ generator: inout SeededGenerator) -> [UInt8] {
        let tricky = Array(" +%=&~/?#*!'()@:;,$[]\u{7F}".utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xBC, 0xE1, 0x88, 0xB4, 0xFF]
        return (0..<Int.random(in: 0...32, using: &generator)).map { _ in
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: tricky.randomElement(using: &generator)!
            case 1: UInt8.random(in: 0...255, using: &generator)
            default: Array("azAZ09-._~".utf8).randomElement(using: &generator)!
            }
        }
    }

    @Test func everyByteValueAlone() {
        for byte in UInt8.min...UInt8.max {
            #expect(SigV4Encoding.encode([byte], keepingSlash: true) == Self.reference([byte], keepingSlash: true))
            #expect(SigV4Encoding.encode([byte], keepingSlash: false) == Self.reference([byte], keepingSlash: false))
        }
    }

    @Test func randomStringsAgreeWithTheReference() {
        var generator = SeededGenerator(seed: 17)
        for _ in 0..<5000 {
            let bytes = Self.randomBytes(&generator)
            #expect(SigV4Encoding.encode(bytes, keepingSlash: true) == Self.reference(bytes, keepingSlash: true), "\(bytes)")
            #expect(SigV4Encoding.encode(bytes, keepingSlash: false) == Self.reference(bytes, keepingSlash: false), "\(bytes)")
        }
    }

    /// Decoding an encoding gives the bytes back, whatever they were (`%` included).
    @Test func decodeInvertsEncode() {
        var generator = SeededGenerator(seed: 19)
        for _ in 0..<5000 {
            let bytes = Self.randomBytes(&generator)
            #expect(SigV4Encoding.decode(SigV4Encoding.encode(bytes, keepingSlash: false)) == bytes, "\(bytes)")
            #expect(SigV4Encoding.decode(SigV4Encoding.encode(bytes, keepingSlash: true)) == bytes, "\(bytes)")
        }
    }

    /// Against a reference decoder, on strings with stray and malformed escapes.
    @Test func decodeLeavesMalformedEscapesAlone() {
        func reference(_ text: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            var index = 0
            func hex(_ byte: UInt8) -> UInt8? { UInt8(String(UnicodeScalar(byte)), radix: 16) }
            while index < text.count {
                if text[index] == 0x25, index + 2 < text.count, let high = hex(text[index + 1]), let low = hex(text[index + 2]) {
                    out.append(high * 16 + low)
                    index += 3
                } else {
                    out.append(text[index])
                    index += 1
                }
            }
            return out
        }
        var generator = SeededGenerator(seed: 23)
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 0...16, using: &generator)).map { _ in Array("%%%0aFfGz+".utf8).randomElement(using: &generator)! }
            #expect(SigV4Encoding.decode(String(decoding: text, as: UTF8.self)) == reference(text), "\(text)")
        }
    }

    @Test func canonicalQuerySortsByEncodedNameThenValue() {
        let request = SignableRequest(method: "GET", path: "/b", query: [.init("b", "2"), .init("a", "z"), .init("a", "a b"), .init("A", ""), .init("~", "/")])
        let canonical = CanonicalRequest(request, payloadHash: SigV4Signer.unsignedPayload, normalizingPath: false)
        #expect(canonical.query == "A=&a=a%20b&a=z&b=2&~=%2F")
    }

    @Test func s3PathsAreNeverNormalised() {
        let request = SignableRequest(method: "GET", path: "/b//a/./../c d")
        #expect(CanonicalRequest(request, payloadHash: "x", normalizingPath: false).uri == "/b//a/./../c%20d")
        #expect(CanonicalRequest(request, payloadHash: "x", normalizingPath: true).uri == "/b/c%20d")
    }

    @Test func timestampsFormatAndParse() throws {
        let time = try #require(SigV4Timestamp(iso8601: "2015-08-30T12:36:00Z"))
        #expect(time.secondsSince1970 == 1_440_938_160)
        #expect(time.amzDate == "20150830T123600Z")
        #expect(time.day == "20150830")
        #expect(SigV4Timestamp(secondsSince1970: 951_782_400).amzDate == "20000229T000000Z")
        #expect(SigV4Timestamp(secondsSince1970: 0).amzDate == "19700101T000000Z")
        #expect(SigV4Timestamp(iso8601: "20150830T123600Z")?.secondsSince1970 == 1_440_938_160)
        #expect(SigV4Timestamp(iso8601: "garbage") == nil)
        var generator = SeededGenerator(seed: 29)
        for _ in 0..<2000 {
            let seconds = Int64.random(in: 0...4_102_444_800, using: &generator)
            #expect(SigV4Timestamp(iso8601: SigV4Timestamp(secondsSince1970: seconds).amzDate)?.secondsSince1970 == seconds)
        }
    }
}
