#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level tests on HTTP/1 text (RFC 9110 5.6.2, RFC 9112 5), for parsing heads without
/// making `String`s of them.
enum ASCII {
    /// `tchar`: the characters of a token such as a field name.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A byte allowed in a field value or reason phrase: visible characters, obs-text, space
    /// and tab; never another control character.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// Whether `bytes` spell `lowercase` without regard to case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for index in 0..<bytes.count where lowercased(bytes[index]) != expected[index] {
            return false
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
