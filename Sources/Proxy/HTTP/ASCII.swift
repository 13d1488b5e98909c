#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level tests on HTTP/1 text (RFC 9110 5.6.2, RFC 9112 5), for parsing heads without
/// making `String`s of them.
enum ASCII {
    /// `tchar`: the characters of a token such as a field name or a method: letters, digits
    /// and ``!#$%&'*+-.^_`|~`` (RFC 9110 5.6.2).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        // Bit n of the first mask is byte n, of the second byte 64 + n.
        let mask: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : byte < 128 ? 0x57FF_FFFF_C7FF_FFFE : 0
        return mask &>> UInt64(byte & 63) & 1 == 1
    }

    /// A byte allowed in a field value or reason phrase: visible characters, obs-text, space
    /// and tab; never another control character.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    /// Where the token at the start of `bytes` ends: the index of its first byte that is not a
    /// ``isTokenCharacter(_:)``, or the count. Bytes are looked up in a table, since a field
    /// name is read on every line of every head.
    static func tokenEnd(in bytes: UnsafeRawBufferPointer) -> Int {
        tokenTable.withUnsafeBufferPointer { table in
            var index = 0
            while index < bytes.count, table[Int(bytes[index])] != 0 { index += 1 }
            return index
        }
    }

    private static let tokenTable: [UInt8] = (0..<256).map { isTokenCharacter(UInt8($0)) ? 1 : 0 }

    /// Whether the bytes of `bytes` from `start` on are all ``isFieldValueByte(_:)``.
    ///
    /// Field values make up most of a head, so they are checked eight bytes at a time, the last
    /// word overlapping the one before it: a word with no byte below 0x20 and none equal to
    /// 0x7F passes at once, and only a word that might hold one (a tab, or a byte after such a
    /// byte) is looked at byte by byte.
    static func allFieldValueBytes(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        let count = bytes.count
        guard count - start >= 8, let base = bytes.baseAddress else {
            for index in start..<max(start, count) where !isFieldValueByte(bytes[index]) {
                return false
            }
            return true
        }
        func wordPasses(at index: Int) -> Bool {
            guard mayHoldControlByte(base.loadUnaligned(fromByteOffset: index, as: UInt64.self)) else { return true }
            for offset in index..<index + 8 where !isFieldValueByte(bytes[offset]) {
                return false
            }
            return true
        }
        var index = start
        while index + 8 <= count {
            guard wordPasses(at: index) else { return false }
            index += 8
        }
        return index == count || wordPasses(at: count - 8)
    }

    /// Whether one of the eight bytes of `word` may be below 0x20 or equal to 0x7F: never
    /// false when one is; true now and then when none is.
    static func mayHoldControlByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        // A byte below 0x20 leaves its high bit set after subtracting 0x20 when it was clear
        // before; a byte equal to 0x7F does the same after an exclusive or with 0x7F and
        // subtracting one (the classic test for a zero byte).
        let below = (word &- ones &* 0x20) & ~word & highBits
        let delete = word ^ (ones &* 0x7F)
        let equal = (delete &- ones) & ~delete & highBits
        return below | equal != 0
    }

    /// Whether `bytes` start with `prefix`, case and all.
    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        bytes.count >= prefix.utf8CodeUnitCount
            && memcmp(bytes.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
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
