#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level tests on HTTP/1 text (RFC 9110 5.6.2, RFC 9112 5), for parsing heads without
/// making `String`s of them.
enum ASCII {
    /// `tchar`: the characters of a token such as a field name or a method: letters, digits
    /// and ``!#$%&'*+-.^_`|~`` (RFC 9110 5.6.2). Looked up in a table, since a field name is
    /// read on every line of every head.
    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        tokenTable.utf8Start[Int(byte)] == UInt8(ascii: "1")
    }

    /// A byte of a registered name in a `Host` value or an authority: letters, digits,
    /// ``-._~``, the sub-delimiters ``!$&'()*+,;=`` and `%` (RFC 3986 3.2.2). Two words of
    /// bits, one per byte value below 128: every request's `Host` is read with it.
    @inline(__always)
    static func isHostCharacter(_ byte: UInt8) -> Bool {
        let bits: UInt64 = byte < 64 ? 0x2bff7ff200000000 : 0x47fffffe87fffffe
        return byte < 128 && (bits >> UInt64(byte & 63)) & 1 != 0
    }

    /// Whether every byte of `word` is a letter, a digit, `-` or `.`, the bytes of nearly every
    /// host name, tested on all eight at once: a byte below 128 is in `[low, high]` when
    /// adding `0x80 - low` sets its top bit and adding `0x7F - high` does not (no sum carries
    /// into the next byte, as every byte is below 128).
    static func isCommonHostWord(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        guard word & high == 0 else { return false }
        func within(_ bytes: UInt64, _ low: UInt8, _ top: UInt8) -> UInt64 {
            (bytes &+ ones &* UInt64(0x80 - low)) & ~(bytes &+ ones &* UInt64(0x7F - top)) & high
        }
        let letters = within(word | ones &* 0x20, UInt8(ascii: "a"), UInt8(ascii: "z"))
        let digits = within(word, UInt8(ascii: "0"), UInt8(ascii: "9"))
        let dashesAndDots = within(word, UInt8(ascii: "-"), UInt8(ascii: "."))
        return letters | digits | dashesAndDots == high
    }

    /// A byte allowed in a field value or reason phrase: visible characters, obs-text, space
    /// and tab; never another control character.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    /// Where the token at the start of `bytes` ends: the index of its first byte that is not a
    /// ``isTokenCharacter(_:)``, or the count.
    static func tokenEnd(in bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index < bytes.count, isTokenCharacter(bytes[index]) { index += 1 }
        return index
    }

    /// Byte n is `1` when byte value n is a token character: a literal, so reading it needs no
    /// lazy initialisation.
    private static var tokenTable: StaticString {
        """
        0000000000000000000000000000000001011111001101101111111111000000\
        0111111111111111111111111110001111111111111111111111111111101010\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000
        """
    }

    /// Whether the bytes of `bytes` from `start` on are all ``isFieldValueByte(_:)``, checked
    /// eight at a time (see ``controlBytes(_:)``), the last word overlapping the one before it.
    static func allFieldValueBytes(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        let count = bytes.count
        guard count - start >= 8, let base = bytes.baseAddress else {
            for index in start..<max(start, count) where !isFieldValueByte(bytes[index]) {
                return false
            }
            return true
        }
        func wordPasses(at index: Int) -> Bool {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            return controlBytes(word) & ~equalBytes(in: word, to: UInt8(ascii: "\t")) == 0
        }
        var index = start
        while index + 8 <= count {
            guard wordPasses(at: index) else { return false }
            index += 8
        }
        return index == count || wordPasses(at: count - 8)
    }

    // MARK: Eight bytes at a time

    // Each of these gives a word whose byte n has its high bit set exactly when byte n of
    // `word` passes the test, and no other bit. The low seven bits of a byte plus at most 0x7F
    // never carry into the next byte, so no byte's result depends on another's.

    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let lowBits: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    private static let ones: UInt64 = 0x0101_0101_0101_0101

    /// Bytes that are control characters: below 0x20, or 0x7F (tabs among them).
    static func controlBytes(_ word: UInt64) -> UInt64 {
        // Low bits + 0x60 reach 0x80 from 0x20 up; obs-text has the high bit already.
        let atLeastSpace = ((word & lowBits) &+ ones &* 0x60) | word
        return ~(atLeastSpace & ~equalBytes(in: word, to: 0x7F)) & highBits
    }

    /// Bytes equal to `byte`.
    static func equalBytes(in word: UInt64, to byte: UInt8) -> UInt64 {
        let difference = word ^ (ones &* UInt64(byte))
        // Low bits + 0x7F reach 0x80 unless they are zero; a high bit set is a difference too.
        return ~(((difference & lowBits) &+ lowBits) | difference) & highBits
    }

    /// Whether `bytes` start with `prefix`, case and all.
    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        bytes.count >= prefix.utf8CodeUnitCount
            && memcmp(bytes.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    /// Whether `bytes` starts with `prefix`, a lowercase text, in any case.
    static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        return bytes.count >= count && equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), prefix)
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// Whether two tokens are the same without regard to case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ other: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == other.count else { return false }
        for index in 0..<bytes.count where lowercased(bytes[index]) != lowercased(other[index]) {
            return false
        }
        return true
    }

    /// Whether `bytes`, a token or a checked field value, spell `lowercase`, made of lower-case
    /// letters, digits and hyphens, without regard to case.
    ///
    /// Setting bit 5 of every byte folds upper-case letters onto lower-case ones and leaves
    /// digits and hyphens alone; of the bytes a token or a field value may hold, no other folds
    /// onto a letter, digit or hyphen (a hyphen's other preimage is a carriage return, which
    /// neither holds), so eight bytes compare at once.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard bytes.count == count else { return false }
        guard count > 0, let base = bytes.baseAddress else { return true }
        let expected = UnsafeRawPointer(lowercase.utf8Start)
        var index = 0
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self) | 0x2020_2020_2020_2020
            guard word == expected.loadUnaligned(fromByteOffset: index, as: UInt64.self) else { return false }
            index += 8
        }
        if index + 4 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt32.self) | 0x2020_2020
            guard word == expected.loadUnaligned(fromByteOffset: index, as: UInt32.self) else { return false }
            index += 4
        }
        while index < count {
            guard bytes[index] | 0x20 == expected.load(fromByteOffset: index, as: UInt8.self) else { return false }
            index += 1
        }
        return true
    }

    /// `bytes` without leading and trailing spaces and tabs.
    static func trimmingSpaces(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// The name and the trimmed value of a field line already checked (RFC 9112 5), given
    /// without its CRLF.
    static func fieldNameAndValue(_ line: UnsafeRawBufferPointer) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        var colon = 0
        while line[colon] != UInt8(ascii: ":") { colon += 1 }
        return (
            UnsafeRawBufferPointer(rebasing: line[0..<colon]),
            trimmingSpaces(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
        )
    }

    /// Calls `body` with each element of a comma-separated list (RFC 9110 5.6.1), trimmed,
    /// empty ones skipped.
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
            let element = trimmingSpaces(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            if !element.isEmpty {
                try body(element)
            }
            start = end + 1
        }
    }

    /// Where the line starting at `start` ends: the index of its `\r\n`, `nil` if it has not
    /// ended yet, or `-1` for a line feed without a carriage return (RFC 9112 2.2 allows
    /// recipients to accept one; a proxy that did would read a message differently from peers
    /// that do not, so it is refused).
    static func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
        else { return nil }
        let newline = base.distance(to: UnsafeRawPointer(found))
        return newline > start && bytes[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : -1
    }
}
