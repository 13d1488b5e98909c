import NIOCore
import NIOHTTP1

/// Reads the responses of one backend connection (RFC 9112): heads, body parts and ends, the
/// body passed on as slices of the bytes read.
///
/// A pure value: bytes in, parts out, no I/O. The proxy parses responses itself rather than
/// with NIO's decoder so a head's fields stay bytes, to be filtered and copied to the client
/// (see ``ResponseHead``), and it is strict where a lenient reading could differ from the
/// client's: a line feed without a carriage return, obs-fold, a space before the colon,
/// control characters, conflicting or malformed `Content-Length`, both `Content-Length` and
/// `Transfer-Encoding`, and malformed chunks are errors, and the connection is closed.
struct ResponseParser {
    enum Part {
        case head(ResponseHead)
        case body(ByteBuffer)
        case end(HTTPHeaders?)
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Largest response head, and largest trailer section, accepted.
    static let maxHeadBytes = 64 * 1024
    /// Largest chunk-size line, extensions included.
    static let maxChunkLineBytes = 4096

    private enum State: Equatable {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        /// The message ended with its head; the end is reported next.
        case ended
        /// After `101 Switching Protocols` the bytes belong to the new protocol.
        case upgraded
    }

    private var state = State.head
    /// Whether a `101` response switched the connection to another protocol.
    private var isUpgraded = false
    /// Whether the response being read answers `HEAD`, and so has no body (RFC 9110 9.3.2).
    var answersHead = false

    /// The next part `buffer` holds, consuming its bytes; `nil` when more bytes are needed.
    /// After a `101` head and its end, the bytes left in `buffer` are the new protocol's.
    mutating func next(from buffer: inout ByteBuffer) throws -> Part? {
        while true {
            switch state {
            case .head:
                guard let head = try parseHead(from: &buffer) else { return nil }
                state = framing(of: head)
                return .head(head)
            case .fixed(let remaining):
                guard let (bytes, left) = Self.readBody(remaining, from: &buffer) else { return nil }
                state = left == 0 ? .ended : .fixed(remaining: left)
                return .body(bytes)
            case .chunkSize:
                guard let size = try parseChunkSize(from: &buffer) else { return nil }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard let (bytes, left) = Self.readBody(remaining, from: &buffer) else { return nil }
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                return .body(bytes)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == UInt16(0x0D0A) else {
                    throw ParseError(description: "chunk data does not end with CRLF")
                }
                state = .chunkSize
            case .trailers:
                guard let trailers = try parseTrailers(from: &buffer) else { return nil }
                finishMessage()
                return .end(trailers)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            case .ended:
                finishMessage()
                return .end(nil)
            case .upgraded:
                return nil
            }
        }
    }

    /// Up to `remaining` bytes of body from `buffer`, as a slice, and how many are still to
    /// come; `nil` when `buffer` is empty.
    private static func readBody(_ remaining: Int, from buffer: inout ByteBuffer) -> (bytes: ByteBuffer, left: Int)? {
        guard buffer.readableBytes > 0 else { return nil }
        let length = min(remaining, buffer.readableBytes)
        return (buffer.readSlice(length: length)!, remaining - length)
    }

    /// The backend closed the connection: the end of a body delimited by closing, or an error
    /// if a message was cut short.
    mutating func connectionClosed(leftover: Int) throws -> Part? {
        switch state {
        case .untilClose:
            finishMessage()
            return .end(nil)
        case .head where leftover == 0, .upgraded:
            return nil
        case .ended:
            finishMessage()
            return .end(nil)
        default:
            throw ParseError(description: "the backend closed the connection in the middle of a response")
        }
    }

    private mutating func finishMessage() {
        state = isUpgraded ? .upgraded : .head
        answersHead = false
    }

    /// How the body after `head` is delimited (RFC 9112 6.3).
    private func framing(of head: ResponseHead) -> State {
        if head.statusCode == 101 {
            return .ended
        }
        if head.isInterim {
            return .head
        }
        if answersHead || head.statusCode == 204 || head.statusCode == 304 {
            return .ended
        }
        if head.hasTransferEncoding {
            return head.isChunked ? .chunkSize : .untilClose
        }
        if let length = head.contentLength {
            return length == 0 ? .ended : .fixed(remaining: length)
        }
        return .untilClose
    }

    // MARK: Head

    private mutating func parseHead(from buffer: inout ByteBuffer) throws -> ResponseHead? {
        let parsed: (head: ResponseHead, statusLineLength: Int, length: Int)? = try buffer.withUnsafeReadableBytes { bytes in
            guard let statusEnd = try Self.lineEnd(in: bytes, from: 0, limit: Self.maxHeadBytes) else { return nil }
            let statusLine = try Self.parseStatusLine(UnsafeRawBufferPointer(rebasing: bytes[0..<statusEnd]))
            var head = ResponseHead(
                version: statusLine.version,
                statusCode: statusLine.code,
                reasonPhrase: ByteBuffer(),
                fieldLines: ByteBuffer()
            )
            var position = statusEnd + 2
            while true {
                guard let end = try Self.lineEnd(in: bytes, from: position, limit: Self.maxHeadBytes) else { return nil }
                if end == position {
                    position += 2
                    break
                }
                try Self.readField(UnsafeRawBufferPointer(rebasing: bytes[position..<end]), into: &head)
                position = end + 2
            }
            if head.hasTransferEncoding, head.contentLength != nil {
                throw ParseError(description: "both Content-Length and Transfer-Encoding")
            }
            return (head, statusEnd, position)
        }
        guard var (head, statusLineLength, length) = parsed else { return nil }
        var headBytes = buffer.readSlice(length: length)!
        let statusLine = headBytes.readSlice(length: statusLineLength + 2)!
        if statusLineLength > 13 {
            head.reasonPhrase = statusLine.getSlice(at: statusLine.readerIndex + 13, length: statusLineLength - 13)!
        }
        head.fieldLines = headBytes.getSlice(at: headBytes.readerIndex, length: headBytes.readableBytes - 2)!
        if head.statusCode == 101 {
            isUpgraded = true
        }
        return head
    }

    /// `HTTP/x.y SP code [SP reason]` (RFC 9112 4); the reason phrase starts at offset 13.
    private static func parseStatusLine(_ line: UnsafeRawBufferPointer) throws -> (version: HTTPVersion, code: Int) {
        func digit(_ index: Int) -> Int? {
            index < line.count && line[index] >= UInt8(ascii: "0") && line[index] <= UInt8(ascii: "9")
                ? Int(line[index] - UInt8(ascii: "0")) : nil
        }
        guard line.count >= 12, line.prefix(5).elementsEqual("HTTP/".utf8), let major = digit(5), line[6] == UInt8(ascii: "."), let minor = digit(7),
            line[8] == UInt8(ascii: " "), let hundreds = digit(9), let tens = digit(10), let units = digit(11),
            line.count == 12 || line[12] == UInt8(ascii: " "),
            line.dropFirst(13).allSatisfy(ASCII.isFieldValueByte)
        else {
            throw ParseError(description: "invalid status line")
        }
        guard major == 1, hundreds >= 1 else {
            throw ParseError(description: "unsupported version HTTP/\(major).\(minor) or status code")
        }
        return (HTTPVersion(major: major, minor: minor), hundreds * 100 + tens * 10 + units)
    }

    /// The end of the line at `start`, refusing bare line feeds and lines past `limit`.
    private static func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) throws -> Int? {
        guard let end = ASCII.lineEnd(in: bytes, from: start) else {
            if bytes.count > limit {
                throw ParseError(description: "response head larger than \(limit) bytes")
            }
            return nil
        }
        guard end >= 0 else {
            throw ParseError(description: "line feed without carriage return")
        }
        guard end + 2 <= limit else {
            throw ParseError(description: "response head larger than \(limit) bytes")
        }
        return end
    }

    /// Checks one field line (RFC 9112 5) — a token, a colon, a value without control
    /// characters — and gives its name and trimmed value.
    private static func checkedField(_ line: UnsafeRawBufferPointer) throws -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        var colon = 0
        while colon < line.count, ASCII.isTokenCharacter(line[colon]) { colon += 1 }
        guard colon > 0, colon < line.count, line[colon] == UInt8(ascii: ":") else {
            throw ParseError(description: "invalid field line (obs-fold, a space before the colon or a bad name)")
        }
        let value = UnsafeRawBufferPointer(rebasing: line[(colon + 1)...])
        guard value.allSatisfy(ASCII.isFieldValueByte) else {
            throw ParseError(description: "control character in a field value")
        }
        return (UnsafeRawBufferPointer(rebasing: line[0..<colon]), ASCII.trimmingSpaces(value))
    }

    /// Checks one field line and notes in `head` what it says of framing and the connection.
    private static func readField(_ line: UnsafeRawBufferPointer, into head: inout ResponseHead) throws {
        let (name, value) = try checkedField(line)
        switch name.count {
        case 14 where ASCII.equalsIgnoringCase(name, "content-length"):
            var found = false
            try ASCII.forEachListElement(value) { element in
                guard element.count <= 18, element.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    throw ParseError(description: "invalid Content-Length")
                }
                let length = element.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                guard head.contentLength == nil || head.contentLength == length else {
                    throw ParseError(description: "conflicting Content-Length values")
                }
                head.contentLength = length
                found = true
            }
            guard found else { throw ParseError(description: "empty Content-Length") }
        case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
            head.hasTransferEncoding = true
            ASCII.forEachListElement(value) { coding in
                head.isChunked = ASCII.equalsIgnoringCase(coding, "chunked")
            }
        case 10 where ASCII.equalsIgnoringCase(name, "connection"):
            ASCII.forEachListElement(value) { option in
                if ASCII.equalsIgnoringCase(option, "close") {
                    head.connectionClose = true
                } else if ASCII.equalsIgnoringCase(option, "keep-alive") {
                    head.connectionKeepAlive = true
                } else if HopByHopFields.index(ofBytes: option) == nil {
                    head.connectionOptions.append(String(decoding: option.map(ASCII.lowercased), as: UTF8.self))
                }
            }
        case 7 where ASCII.equalsIgnoringCase(name, "upgrade"):
            head.upgrade = String(decoding: value, as: UTF8.self)
        case 2 where ASCII.equalsIgnoringCase(name, "te"):
            ASCII.forEachListElement(value) { coding in
                if ASCII.equalsIgnoringCase(coding, "trailers") { head.acceptsTrailers = true }
            }
        default:
            break
        }
    }

    // MARK: Chunks

    /// `chunk-size [chunk-ext] CRLF` (RFC 9112 7.1); extensions are checked and ignored.
    private func parseChunkSize(from buffer: inout ByteBuffer) throws -> Int? {
        let parsed: (size: Int, length: Int)? = try buffer.withUnsafeReadableBytes { bytes in
            guard let end = try Self.lineEnd(in: bytes, from: 0, limit: Self.maxChunkLineBytes) else { return nil }
            var size = 0
            var index = 0
            while index < end, let digit = Self.hexValue(bytes[index]) {
                guard index < 15 else { throw ParseError(description: "chunk size too large") }
                size = size << 4 | digit
                index += 1
            }
            guard index > 0 else { throw ParseError(description: "invalid chunk size") }
            while index < end, ASCII.isSpace(bytes[index]) { index += 1 }
            guard index == end || bytes[index] == UInt8(ascii: ";"),
                UnsafeRawBufferPointer(rebasing: bytes[index..<end]).allSatisfy(ASCII.isFieldValueByte)
            else {
                throw ParseError(description: "invalid chunk extension")
            }
            return (size, end + 2)
        }
        guard let parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: parsed.length)
        return parsed.size
    }

    /// The trailer section after the last chunk, ended by an empty line.
    private func parseTrailers(from buffer: inout ByteBuffer) throws -> HTTPHeaders?? {
        let parsed: (trailers: HTTPHeaders?, length: Int)? = try buffer.withUnsafeReadableBytes { bytes in
            var position = 0
            var trailers: HTTPHeaders?
            while true {
                guard let end = try Self.lineEnd(in: bytes, from: position, limit: Self.maxHeadBytes) else { return nil }
                if end == position {
                    return (trailers, position + 2)
                }
                let line = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
                let field = try Self.checkedField(line)
                trailers = trailers ?? HTTPHeaders()
                trailers?.add(name: String(decoding: field.name, as: UTF8.self), value: String(decoding: field.value, as: UTF8.self))
                position = end + 2
            }
        }
        guard let parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: parsed.length)
        return .some(parsed.trailers)
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
