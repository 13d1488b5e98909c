import Testing
import TestSupport

@testable import Proxy

@Suite struct ASCIITests {
    @Test func tokenCharactersAreExactlyTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(ASCII.isTokenCharacter(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    /// The word-at-a-time tests give exactly the byte-at-a-time answers, for every byte value in
    /// every position among any other bytes.
    @Test func wordTestsAgreeWithByteTestsInEveryPosition() {
        var generator = SeededGenerator(seed: 7)
        let backgrounds: [UInt8] = [0x00, 0x09, 0x1F, 0x20, 0x2D, 0x5A, 0x61, 0x7E, 0x7F, 0x80, 0xFF]
        func expectedMask(_ bytes: [UInt8], _ test: (UInt8) -> Bool) -> UInt64 {
            bytes.enumerated().reduce(0) { mask, element in test(element.element) ? mask | (0x80 << (8 * UInt64(element.offset))) : mask }
        }
        for byte in UInt8.min...UInt8.max {
            for position in 0..<8 {
                for round in 0..<(backgrounds.count + 4) {
                    var bytes = (0..<8).map { _ in
                        round < backgrounds.count ? backgrounds[round] : UInt8.random(in: 0...255, using: &generator)
                    }
                    bytes[position] = byte
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(ASCII.controlBytes(word) == expectedMask(bytes) { !ASCII.isFieldValueByte($0) || $0 == 0x09 }, "\(bytes)")
                    #expect(ASCII.equalBytes(in: word, to: byte) == expectedMask(bytes) { $0 == byte }, "\(bytes)")
                }
            }
        }
    }

    @Test func allFieldValueBytesAgreesWithTheByteTest() {
        var generator = SeededGenerator(seed: 11)
        // Mostly visible text with now and then a tab, obs-text or a control byte.
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0x09, 0x09, 0x80, 0xC3, 0xFF] + [0x00, 0x0A, 0x0D, 0x1F, 0x7F]
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0..<20, using: &generator) == 0
                    ? alphabet.randomElement(using: &generator)!
                    : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            let start = Int.random(in: 0...bytes.count, using: &generator)
            let expected = bytes[start...].allSatisfy(ASCII.isFieldValueByte)
            bytes.withUnsafeBytes { raw in
                #expect(ASCII.allFieldValueBytes(raw, from: start) == expected, "\(bytes) from \(start)")
            }
        }
    }

    @Test func tokenEndAgreesWithTheByteTest() {
        var generator = SeededGenerator(seed: 13)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in
                Int.random(in: 0..<8, using: &generator) == 0
                    ? UInt8.random(in: 0...255, using: &generator)
                    : Array("abcXYZ-09_".utf8).randomElement(using: &generator)!
            }
            let expected = bytes.firstIndex { !ASCII.isTokenCharacter($0) } ?? bytes.count
            bytes.withUnsafeBytes { #expect(ASCII.tokenEnd(in: $0) == expected, "\(bytes)") }
        }
    }

    /// The case-folding comparison word by word agrees with lower-casing byte by byte for every
    /// token and field value, the only inputs it takes.
    @Test func caseInsensitiveComparisonAgreesWithLowerCasing() {
        var generator = SeededGenerator(seed: 17)
        let names: [StaticString] = ["te", "host", "upgrade", "x-real-ip", "keep-alive", "content-length", "x-forwarded-proto", "proxy-authorization", "100-continue"]
        let valueBytes = (UInt8(0x20)...UInt8(0xFF)).filter { $0 != 0x7F } + [0x09]
        for name in names {
            let target = Array(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            for round in 0..<3000 {
                var bytes = target.map { Bool.random(using: &generator) ? (ASCII.isDigit($0) || $0 == 0x2D ? $0 : $0 - 32) : $0 }
                if round % 2 == 1, !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = valueBytes.randomElement(using: &generator)!
                }
                let expected = bytes.map(ASCII.lowercased) == target
                bytes.withUnsafeBytes { #expect(ASCII.equalsIgnoringCase($0, name) == expected, "\(bytes) against \(name)") }
            }
        }
    }

    /// Scanning a line in pieces, going on from where each scan stopped, finds the same end or
    /// the same error as scanning it whole, and both agree with a byte-by-byte reading.
    @Test func lineScanAgreesWithAByteByByteReading() throws {
        var generator = SeededGenerator(seed: 19)
        let rare: [UInt8] = [0x09, 0x0D, 0x0A, 0x00, 0x7F, 0x80, 0xFF]
        for _ in 0..<5000 {
            var bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0..<25, using: &generator) == 0 ? rare.randomElement(using: &generator)! : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            if Bool.random(using: &generator) { bytes += [0x0D, 0x0A] }
            let expected = reference(bytes)
            #expect(scan(bytes, pieces: [bytes.count]) == expected, "\(bytes)")
            let cut = Int.random(in: 0...bytes.count, using: &generator)
            #expect(scan(bytes, pieces: [cut, bytes.count]) == expected, "\(bytes) cut at \(cut)")
        }
    }

    /// `nil` while unfinished, the end's index, or -1 for an error.
    private func reference(_ bytes: [UInt8]) -> Int? {
        for (index, byte) in bytes.enumerated() where !ASCII.isFieldValueByte(byte) {
            guard byte == 0x0D else { return -1 }
            guard index + 1 < bytes.count else { return nil }
            return bytes[index + 1] == 0x0A ? index : -1
        }
        return nil
    }

    private func scan(_ bytes: [UInt8], pieces: [Int]) -> Int? {
        var checked = 0
        for length in pieces {
            let result: HTTP1Syntax.LineScan
            do {
                result = try Array(bytes[0..<length]).withUnsafeBytes { try HTTP1Syntax.scanLine(in: $0, from: checked) }
            } catch {
                return -1
            }
            switch result {
            case .ended(let end): return end
            case .unfinished(let upTo): checked = upTo
            }
        }
        return nil
    }

    /// `Content-Length` values: one length, a list of equal lengths, and everything refused.
    @Test func contentLengthValues() throws {
        func length(_ value: String, current: Int? = nil) throws -> Int {
            try Array(value.utf8).withUnsafeBytes { bytes in try HTTP1Syntax.contentLength(bytes, current: current) }
        }
        // Only a bare number is forwarded as it came; lists are rewritten as one number.
        #expect(Array("1024".utf8).withUnsafeBytes { HTTP1Syntax.digits($0) } == 1024)
        #expect(Array("7, 7".utf8).withUnsafeBytes { HTTP1Syntax.digits($0) } == nil)
        #expect(try length("0") == 0)
        #expect(try length("1024") == 1024)
        #expect(try length("000123") == 123)
        #expect(try length("999999999999999999") == 999_999_999_999_999_999)
        #expect(try length("7, 7,7") == 7)
        #expect(try length("7", current: 7) == 7)
        #expect(try length("7 , 7", current: 7) == 7)
        for refused in ["", "+1", "-1", "1a", "a", "1 2", "1,2", ",", "1234567890123456789", "0x10", "1.0", "\u{661}"] {
            #expect(throws: HTTP1ParseError.self, "\(refused)") { try length(refused) }
        }
        #expect(throws: HTTP1ParseError.self) { try length("8", current: 7) }
        #expect(throws: HTTP1ParseError.self) { try length("7, 8", current: 7) }
    }

    /// The host table against the characters RFC 3986 3.2.2 lists for a registered name.
    @Test func hostCharactersAreExactlyTheRegisteredNameOnes() {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(ASCII.isHostCharacter(byte) == allowed.contains(byte), "byte \(byte)")
        }
    }

    @Test(arguments: [
        ("", true), ("example.com", true), ("example.com:8080", true), ("127.0.0.1:80", true), ("[::1]:443", true),
        ("[::1]", true), ("a:", true), ("%41b", true), ("a b", false), ("a/b", false), ("a:80x", false), ("a:8:0", false),
        ("[::1", false), ("[]", false), ("[::1]x", false), ("user@host", false), ("a?b", false), ("a#b", false),
    ])
    func hostValues(value: String, valid: Bool) {
        let result = Array(value.utf8).withUnsafeBytes { HTTP1Syntax.isValidHost($0) }
        #expect(result == valid, "\(value)")
    }

    /// The eight-at-a-time host test against a byte-by-byte reference, on words mixing the
    /// bytes it accepts with every other byte value in every position.
    @Test func commonHostWordsAgreeWithTheBytes() {
        var generator = SeededGenerator(seed: 41)
        let common = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.".utf8)
        func reference(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy(common.contains) }
        for _ in 0..<20_000 {
            var bytes = (0..<8).map { _ in common.randomElement(using: &generator)! }
            if Bool.random(using: &generator) {
                bytes[Int.random(in: 0..<8, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            #expect(ASCII.isCommonHostWord(word) == reference(bytes), "\(bytes)")
        }
        for position in 0..<8 {
            for value in UInt8.min...UInt8.max {
                var bytes = Array("abcd1234".utf8)
                bytes[position] = value
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(ASCII.isCommonHostWord(word) == reference(bytes), "\(value) at \(position)")
            }
        }
    }

    /// A remembered host answers only for the very same bytes: a value of the same length that
    /// differs is checked anew, and values too long to keep are checked every time.
    @Test func checkedHostRemembersOnlyWhatItChecked() {
        var checked = CheckedHost()
        func isValid(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { checked.isValid($0) }
        }
        #expect(isValid("a.example:80"))
        #expect(isValid("a.example:80"))
        #expect(!isValid("a example:80"))
        #expect(!isValid("a.example:8x"))
        #expect(isValid("a.example:80"))
        let long = String(repeating: "a", count: 40) + ".example"
        #expect(isValid(long))
        #expect(!isValid(String(repeating: "a", count: 40) + ".exam le"))
        #expect(isValid(""))
    }
}
