import NIOCore
import NIOHTTP1

/// A malformed HTTP/1 message, or one the proxy will not read.
struct HTTP1ParseError: Error, CustomStringConvertible {
    var description: String
    /// What a client sending it is answered: 400, 501 for a transfer coding the proxy does not
    /// implement (RFC 9112 6.1), 505 for a version other than HTTP/1.
    var status = HTTPResponseStatus.badRequest
}

/// The syntax requests and responses share (RFC 9112): lines, field lines, `Content-Length`
/// and chunk-size lines, read strictly so the proxy never reads a message differently from
/// the peer on the other side.
enum HTTP1Syntax {
    /// The end of the line at `start`, refusing bare line feeds and lines past `limit`.
    static func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) throws -> Int? {
        guard let end = ASCII.lineEnd(in: bytes, from: start) else {
            if bytes.count > limit {
                throw HTTP1ParseError(description: "head larger than \(limit) bytes")
            }
            return nil
        }
        guard end >= 0 else {
            throw HTTP1ParseError(description: "line feed without carriage return")
        }
        guard end + 2 <= limit else {
            throw HTTP1ParseError(description: "head larger than \(limit) bytes")
        }
        return end
    }

    /// How far ``scanLine(in:from:)`` got.
    enum LineScan {
        /// The line ends at this index, where its CRLF starts.
        case ended(at: Int)
        /// The line has not ended; the bytes before this index are checked.
        case unfinished(checkedUpTo: Int)
    }

    /// Finds the end of the line that `start` is in, checking every byte from `start` to it: no
    /// control character but a tab, and a carriage return only in the CRLF that ends the line
    /// (RFC 9112 2.2, 5.5; a bare line feed, which RFC 9112 lets recipients accept, would make
    /// the proxy read a message differently from peers that do not).
    ///
    /// Heads are scanned this way once, eight bytes at a time: the search for the line's end
    /// and the check of its bytes are one pass. A line not ended yet is scanned on from where
    /// the last scan stopped.
    @inline(__always)
    static func scanLine(in bytes: UnsafeRawBufferPointer, from start: Int) throws -> LineScan {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return .unfinished(checkedUpTo: start) }
        var index = start
        while index + 8 <= count {
            // Little-endian order, so the lowest set bit belongs to the first byte.
            let control = ASCII.controlBytes(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            if control == 0 {
                index += 8
                continue
            }
            index += control.trailingZeroBitCount >> 3
            if base.load(fromByteOffset: index, as: UInt8.self) == UInt8(ascii: "\t") {
                index += 1
                continue
            }
            return try lineEnd(in: bytes, at: index)
        }
        while index < count {
            if ASCII.isFieldValueByte(base.load(fromByteOffset: index, as: UInt8.self)) {
                index += 1
                continue
            }
            return try lineEnd(in: bytes, at: index)
        }
        return .unfinished(checkedUpTo: count)
    }

    /// What the control character at `index` means: the end of the line if it starts a CRLF.
    @inline(__always)
    private static func lineEnd(in bytes: UnsafeRawBufferPointer, at index: Int) throws -> LineScan {
        switch bytes[index] {
        case UInt8(ascii: "\r"):
            guard index + 1 < bytes.count else { return .unfinished(checkedUpTo: index) }
            guard bytes[index + 1] == UInt8(ascii: "\n") else {
                throw HTTP1ParseError(description: "carriage return without line feed")
            }
            return .ended(at: index)
        case UInt8(ascii: "\n"):
            throw HTTP1ParseError(description: "line feed without carriage return")
        default:
            throw HTTP1ParseError(description: "control character in a head")
        }
    }

    /// Checks one field line (RFC 9112 5) — a token, a colon, a value without control
    /// characters — and gives its name and trimmed value.
    static func checkedField(_ line: UnsafeRawBufferPointer) throws -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard ASCII.allFieldValueBytes(line, from: 0) else {
            throw HTTP1ParseError(description: "control character in a field line")
        }
        return try field(line)
    }

    /// The name and trimmed value of a field line whose bytes are known to hold no control
    /// character but tabs (see ``scanLine(in:from:)``), checking that it starts with a token and
    /// a colon: not obs-fold, nor a space before the colon (RFC 9112 5.1, 5.2).
    static func field(_ line: UnsafeRawBufferPointer) throws -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let count = line.count
        let colon = ASCII.tokenEnd(in: line)
        guard colon > 0, colon < count, line[colon] == UInt8(ascii: ":") else {
            throw HTTP1ParseError(description: "invalid field line (obs-fold, a space before the colon or a bad name)")
        }
        return (
            UnsafeRawBufferPointer(rebasing: line[0..<colon]),
            ASCII.trimmingSpaces(UnsafeRawBufferPointer(rebasing: line[(colon + 1)..<count]))
        )
    }

    /// The length a `Content-Length` value gives, which must agree with `current`, the one an
    /// earlier field gave: a list of equal lengths is one length (RFC 9110 8.6), differing ones
    /// are an error. Any value but one bare number (``digits(_:)``) is forwarded as one
    /// normalised field (see ``HeadFields/rewritesContentLength``).
    static func contentLength(_ value: UnsafeRawBufferPointer, current: Int?) throws -> Int {
        func agreeing(_ length: Int, with current: Int?) throws -> Int {
            guard current == nil || current == length else {
                throw HTTP1ParseError(description: "conflicting Content-Length values")
            }
            return length
        }
        if let length = digits(value) {
            return try agreeing(length, with: current)
        }
        var length = current
        var found = false
        try ASCII.forEachListElement(value) { element in
            guard let parsed = digits(element) else { throw HTTP1ParseError(description: "invalid Content-Length") }
            length = try agreeing(parsed, with: length)
            found = true
        }
        guard found, let length else { throw HTTP1ParseError(description: "empty Content-Length") }
        return length
    }

    /// The number `value` writes in 1 to 18 decimal digits and nothing else, if it does.
    static func digits(_ value: UnsafeRawBufferPointer) -> Int? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var parsed = 0
        for byte in value {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            parsed = parsed &* 10 &+ Int(digit)
        }
        return parsed
    }

    /// Largest chunk-size line, extensions included.
    static let maxChunkLineBytes = 4096

    /// `chunk-size [chunk-ext] CRLF` (RFC 9112 7.1) at the start of `bytes`: the size and the
    /// line's length with its CRLF; extensions are checked and ignored. `nil` until the line
    /// is whole.
    static func chunkSizeLine(_ bytes: UnsafeRawBufferPointer) throws -> (size: Int, length: Int)? {
        guard let end = try lineEnd(in: bytes, from: 0, limit: maxChunkLineBytes) else { return nil }
        var size = 0
        var index = 0
        while index < end, let digit = hexValue(bytes[index]) {
            guard index < 15 else { throw HTTP1ParseError(description: "chunk size too large") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw HTTP1ParseError(description: "invalid chunk size") }
        while index < end, ASCII.isSpace(bytes[index]) { index += 1 }
        guard index == end || bytes[index] == UInt8(ascii: ";") else {
            throw HTTP1ParseError(description: "invalid chunk extension")
        }
        while index < end {
            guard ASCII.isFieldValueByte(bytes[index]) else { throw HTTP1ParseError(description: "invalid chunk extension") }
            index += 1
        }
        return (size, end + 2)
    }

    /// The trailer section at the start of `bytes`, ended by an empty line (RFC 9112 7.1.2):
    /// the fields, `nil` if there were none, and the section's length. `nil` until it is whole.
    static func trailerSection(_ bytes: UnsafeRawBufferPointer, limit: Int) throws -> (trailers: HTTPHeaders?, length: Int)? {
        var position = 0
        var trailers: HTTPHeaders?
        while true {
            guard let end = try lineEnd(in: bytes, from: position, limit: limit) else { return nil }
            if end == position {
                return (trailers, position + 2)
            }
            let field = try checkedField(UnsafeRawBufferPointer(rebasing: bytes[position..<end]))
            trailers = trailers ?? HTTPHeaders()
            if isAllowedInTrailers(field.name) {
                trailers?.add(name: String(decoding: field.name, as: UTF8.self), value: String(decoding: field.value, as: UTF8.self))
            }
            position = end + 2
        }
    }

    /// Whether `value` is `uri-host [":" port]` (RFC 9110 7.2, RFC 3986 3.2.2): a registered
    /// name of unreserved characters, sub-delimiters and percent signs, or an IP literal in
    /// brackets, then at most a colon and digits. An empty value is valid (an empty authority).
    static func isValidHost(_ value: UnsafeRawBufferPointer) -> Bool {
        let count = value.count
        guard count > 0, let base = value.baseAddress else { return true }
        func byte(_ index: Int) -> UInt8 {
            base.load(fromByteOffset: index, as: UInt8.self)
        }
        var index = 0
        if byte(0) == UInt8(ascii: "[") {
            index = 1
            while index < count, byte(index) != UInt8(ascii: "]") {
                guard ASCII.isHostCharacter(byte(index)) || byte(index) == UInt8(ascii: ":") else { return false }
                index += 1
            }
            guard index < count, index > 1 else { return false }
            index += 1
        } else {
            // Letters, digits, dots and dashes, the bytes of nearly every host name, are
            // checked eight at a time; the first word holding any other byte is left to the
            // byte-wise loop, which also finds the port.
            while index + 8 <= count, ASCII.isCommonHostWord(base.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
            }
            while index < count {
                let next = byte(index)
                guard next != UInt8(ascii: ":") else { break }
                guard ASCII.isHostCharacter(next) else { return false }
                index += 1
            }
        }
        guard index < count else { return true }
        guard byte(index) == UInt8(ascii: ":") else { return false }
        index += 1
        while index < count {
            guard ASCII.isDigit(byte(index)) else { return false }
            index += 1
        }
        return true
    }

    /// Whether a field called `name` may be passed on in a trailer section. RFC 9110 6.5.1: a
    /// sender must not put in trailers, and a recipient must not merge into the head, fields
    /// that frame the message, route it, modify the request, authenticate, control the response
    /// or say how to process its content; they are dropped rather than forwarded to a recipient
    /// that might act on them. The fields the proxy knows (framing, `Host`, hop-by-hop and
    /// forwarding fields) are all among them.
    static func isAllowedInTrailers(_ name: UnsafeRawBufferPointer) -> Bool {
        guard KnownField(name: name) == nil else { return false }
        return !notInTrailers.contains { ASCII.equalsIgnoringCase(name, $0) }
    }

    private static let notInTrailers: [StaticString] = [
        "authorization", "cache-control", "content-encoding", "content-range", "content-type", "cookie", "expect",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "max-forwards", "pragma",
        "range", "set-cookie", "www-authenticate", "age", "expires", "date", "location", "retry-after", "vary",
    ]

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
