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

    /// Largest response head, and largest trailer section, accepted.
    static let maxHeadBytes = 64 * 1024

    private enum State {
        case head
        case body(MessageBody)
        case untilClose
        /// The message ended with its head; the end is reported next.
        case ended
        /// After `101 Switching Protocols` the bytes belong to the new protocol.
        case upgraded
    }

    private struct StatusLine {
        var version: HTTPVersion
        var code: Int
    }

    private var state = State.head
    /// What has been read of a head that has not ended yet.
    private var head = HeadReader<StatusLine>()
    /// Whether a `101` response switched the connection to another protocol.
    private var isUpgraded = false
    /// Whether the response being read answers `HEAD`, and so has no body (RFC 9110 9.3.2).
    var answersHead = false
    /// Whether the response being read answers `CONNECT`: a 2xx one has no content, whatever
    /// its `Content-Length` or `Transfer-Encoding` say, and the connection is a tunnel after
    /// its head (RFC 9110 9.3.6; RFC 9112 6.3, rule 2).
    var answersConnect = false

    /// Whether a `101` response has ended: the bytes after it are the new protocol's.
    var hasSwitchedProtocols: Bool {
        if case .upgraded = state { return true }
        return false
    }

    /// The next part `buffer` holds, consuming its bytes; `nil` when more bytes are needed.
    /// After a `101` head and its end, the bytes left in `buffer` are the new protocol's.
    mutating func next(from buffer: inout ByteBuffer) throws -> Part? {
        while true {
            switch state {
            case .head:
                guard let head = try parseHead(from: &buffer) else { return nil }
                state = framing(of: head)
                return .head(head)
            case .body(var body):
                let part = try body.next(from: &buffer)
                switch part {
                case nil:
                    state = .body(body)
                    return nil
                case .bytes(let bytes):
                    state = .body(body)
                    return .body(bytes)
                case .end(let trailers):
                    finishMessage()
                    return .end(trailers)
                }
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
            throw HTTP1ParseError(description: "the backend closed the connection in the middle of a response")
        }
    }

    private mutating func finishMessage() {
        state = isUpgraded ? .upgraded : .head
        answersHead = false
        answersConnect = false
    }

    /// How the body after `head` is delimited (RFC 9112 6.3).
    private mutating func framing(of head: ResponseHead) -> State {
        if head.statusCode == 101 {
            return .ended
        }
        if answersConnect, (200..<300).contains(head.statusCode) {
            isUpgraded = true
            return .ended
        }
        if head.isInterim {
            return .head
        }
        if answersHead || head.statusCode == 204 || head.statusCode == 304 {
            return .ended
        }
        if head.fields.hasTransferEncoding {
            return head.fields.isChunked ? .body(.chunked(maxTrailerBytes: Self.maxHeadBytes)) : .untilClose
        }
        if let length = head.fields.contentLength {
            return length == 0 ? .ended : .body(.fixed(length))
        }
        return .untilClose
    }

    // MARK: Head

    private mutating func parseHead(from buffer: inout ByteBuffer) throws -> ResponseHead? {
        let length = try buffer.withUnsafeReadableBytes { bytes in
            try head.read(bytes, limit: Self.maxHeadBytes, parseStartLine: Self.parseStatusLine)
        }
        guard let length, let statusLine = head.startLine else { return nil }
        let fields = head.fields
        let fieldsStart = head.fieldsStart
        head = HeadReader()
        let opensTunnel = answersConnect && (200..<300).contains(statusLine.code)
        if fields.hasTransferEncoding, fields.contentLength != nil, !opensTunnel {
            throw HTTP1ParseError(description: "both Content-Length and Transfer-Encoding")
        }
        let bytes = buffer.readSlice(length: length - 2)!
        buffer.moveReaderIndex(forwardBy: 2)
        if statusLine.code == 101 {
            isUpgraded = true
        }
        return ResponseHead(version: statusLine.version, statusCode: statusLine.code, bytes: bytes, fieldsStart: fieldsStart, fields: fields)
    }

    /// `HTTP/x.y SP code [SP reason]` (RFC 9112 4); the reason phrase starts at offset 13, its
    /// bytes checked by ``HTTP1Syntax/scanLine(in:from:)``.
    private static func parseStatusLine(_ line: UnsafeRawBufferPointer) throws -> StatusLine {
        func digit(_ index: Int) -> Int? {
            index < line.count && line[index] >= UInt8(ascii: "0") && line[index] <= UInt8(ascii: "9")
                ? Int(line[index] - UInt8(ascii: "0")) : nil
        }
        guard line.count >= 12, ASCII.hasPrefix(line, "HTTP/"), let major = digit(5), line[6] == UInt8(ascii: "."), let minor = digit(7),
            line[8] == UInt8(ascii: " "), let hundreds = digit(9), let tens = digit(10), let units = digit(11),
            line.count == 12 || line[12] == UInt8(ascii: " ")
        else {
            throw HTTP1ParseError(description: "invalid status line")
        }
        guard major == 1, hundreds >= 1 else {
            throw HTTP1ParseError(description: "unsupported version HTTP/\(major).\(minor) or status code")
        }
        return StatusLine(version: HTTPVersion(major: major, minor: minor), code: hundreds * 100 + tens * 10 + units)
    }
}
