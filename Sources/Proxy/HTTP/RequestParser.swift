import NIOCore
import NIOHTTP1

/// Reads the requests of one HTTP/1 client connection (RFC 9112): heads, body parts and ends,
/// the body passed on as slices of the bytes read.
///
/// A pure value: bytes in, parts out, no I/O. Strict where a lenient reading could let a
/// request be read one way here and another way by the backend (request smuggling): a line
/// feed without a carriage return, obs-fold, a space before a colon, control characters,
/// conflicting or malformed `Content-Length`, `Content-Length` with `Transfer-Encoding`,
/// `Transfer-Encoding` in HTTP/1.0 or without `chunked` last, and malformed chunks are
/// errors, after which the connection is answered and closed.
///
/// A head is searched for its end as bytes arrive, and parsed once it is whole, so a head sent
/// a byte at a time costs no more than one sent at once.
struct RequestParser {
    private enum State {
        case head
        case body(MessageBody)
        /// The request ended with its head; the end is reported next.
        case ended
        /// The request asked to switch protocols (`Upgrade`, or `CONNECT`): what follows it is
        /// not read as HTTP (RFC 9110 7.8, 9.3.6).
        case switching
    }

    /// Largest head (request line and fields together), and largest trailer section.
    let maxHeadBytes: Int
    private var state = State.head
    /// Where the first line of the head being read that has not ended yet starts: the lines
    /// before it have been searched for the head's end.
    private var searched = 0
    /// Whether the request being read asks to switch protocols.
    private var switchesProtocols = false

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// The next part `buffer` holds, consuming its bytes; `nil` when more bytes are needed,
    /// and always after a request that asks to switch protocols: the bytes after it stay in
    /// `buffer`.
    mutating func next(from buffer: inout ByteBuffer) throws -> HTTPServerRequestPart? {
        switch state {
        case .head:
            guard let (head, body) = try parseHead(from: &buffer) else { return nil }
            switchesProtocols = Self.asksToSwitchProtocols(head)
            state = body.map { .body($0) } ?? .ended
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
        case .ended:
            finishMessage()
            return .end(nil)
        case .switching:
            return nil
        }
    }

    /// Whether `head` asks to switch protocols: what follows it on the connection is not HTTP/1
    /// if the server agrees.
    static func asksToSwitchProtocols(_ head: HTTPRequestHead) -> Bool {
        head.method == .CONNECT || head.headers.upgradeProtocol != nil
    }

    private mutating func finishMessage() {
        state = switchesProtocols ? .switching : .head
    }

    // MARK: Head

    /// The head at the start of `buffer` and how its body is framed, once the head is whole.
    private mutating func parseHead(from buffer: inout ByteBuffer) throws -> (HTTPRequestHead, MessageBody?)? {
        if searched == 0 {
            // Empty lines before a request line are ignored (RFC 9112 2.2).
            while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == UInt16(0x0D0A) {
                buffer.moveReaderIndex(forwardBy: 2)
            }
        }
        guard let length = try findHeadEnd(in: buffer) else { return nil }
        let parsed = try buffer.withUnsafeReadableBytes { bytes in
            try Self.parseHead(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), maxTrailerBytes: maxHeadBytes)
        }
        buffer.moveReaderIndex(forwardBy: length)
        return parsed
    }

    /// The length of the head at the start of `buffer`, its blank line included, or `nil` while
    /// it has not ended. Lines searched before are not searched again.
    private mutating func findHeadEnd(in buffer: ByteBuffer) throws -> Int? {
        let limit = maxHeadBytes
        let (found, searched): (Int?, Int) = try buffer.withUnsafeReadableBytes { bytes in
            var position = self.searched
            while let end = ASCII.lineEnd(in: bytes, from: position) {
                guard end >= 0 else { throw HTTP1ParseError(description: "line feed without carriage return") }
                if end == position {
                    return (end + 2, 0)
                }
                position = end + 2
            }
            return (nil, position)
        }
        self.searched = searched
        guard (found ?? buffer.readableBytes) <= limit else {
            throw HTTP1ParseError(description: "request head larger than \(limit) bytes")
        }
        return found
    }

    /// Parses a whole head, blank line included.
    private static func parseHead(_ bytes: UnsafeRawBufferPointer, maxTrailerBytes: Int) throws -> (HTTPRequestHead, MessageBody?) {
        let lineEnd = try HTTP1Syntax.lineEnd(in: bytes, from: 0, limit: bytes.count)!
        let (method, target, version) = try parseRequestLine(UnsafeRawBufferPointer(rebasing: bytes[0..<lineEnd]))
        var headers = HTTPHeaders()
        var framing = Framing()
        var position = lineEnd + 2
        while true {
            let end = try HTTP1Syntax.lineEnd(in: bytes, from: position, limit: bytes.count)!
            if end == position { break }
            let (name, value) = try HTTP1Syntax.checkedField(UnsafeRawBufferPointer(rebasing: bytes[position..<end]))
            try framing.read(name: name, value: value)
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            position = end + 2
        }
        let head = HTTPRequestHead(version: version, method: method, uri: target, headers: headers)
        return (head, try framing.body(version: version, maxTrailerBytes: maxTrailerBytes))
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 3).
    private static func parseRequestLine(_ line: UnsafeRawBufferPointer) throws -> (HTTPMethod, String, HTTPVersion) {
        var methodEnd = 0
        while methodEnd < line.count, ASCII.isTokenCharacter(line[methodEnd]) { methodEnd += 1 }
        var targetEnd = methodEnd + 1
        while targetEnd < line.count, line[targetEnd] > 0x20, line[targetEnd] != 0x7F { targetEnd += 1 }
        let versionStart = targetEnd + 1
        guard methodEnd > 0, methodEnd < line.count, line[methodEnd] == UInt8(ascii: " "),
            targetEnd > methodEnd + 1, targetEnd < line.count, line[targetEnd] == UInt8(ascii: " "),
            line.count - versionStart == 8,
            ASCII.hasPrefix(UnsafeRawBufferPointer(rebasing: line[versionStart...]), "HTTP/"),
            ASCII.isDigit(line[versionStart + 5]), line[versionStart + 6] == UInt8(ascii: "."), ASCII.isDigit(line[versionStart + 7])
        else {
            throw HTTP1ParseError(description: "invalid request line")
        }
        let major = Int(line[versionStart + 5] - UInt8(ascii: "0"))
        let minor = Int(line[versionStart + 7] - UInt8(ascii: "0"))
        guard major == 1 else {
            throw HTTP1ParseError(description: "unsupported version HTTP/\(major).\(minor)", status: .httpVersionNotSupported)
        }
        let method = HTTPMethod(rawValue: String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<methodEnd]), as: UTF8.self))
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: line[(methodEnd + 1)..<targetEnd]), as: UTF8.self)
        return (method, target, HTTPVersion(major: major, minor: minor))
    }

    /// What a request's fields say of how its body is delimited (RFC 9112 6.1–6.3).
    private struct Framing {
        var contentLength: Int?
        var hasTransferEncoding = false
        var codings = 0
        var chunkedCodings = 0
        var isChunkedLast = false

        mutating func read(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
            switch name.count {
            case 14 where ASCII.equalsIgnoringCase(name, "content-length"):
                contentLength = try HTTP1Syntax.contentLength(value, current: contentLength)
            case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
                hasTransferEncoding = true
                ASCII.forEachListElement(value) { coding in
                    codings += 1
                    isChunkedLast = ASCII.equalsIgnoringCase(coding, "chunked")
                    if isChunkedLast { chunkedCodings += 1 }
                }
            default:
                break
            }
        }

        func body(version: HTTPVersion, maxTrailerBytes: Int) throws -> MessageBody? {
            guard hasTransferEncoding else {
                return contentLength.flatMap { $0 > 0 ? .fixed($0) : nil }
            }
            guard contentLength == nil else {
                throw HTTP1ParseError(description: "both Content-Length and Transfer-Encoding")
            }
            guard version.supportsChunking else {
                throw HTTP1ParseError(description: "Transfer-Encoding in an HTTP/1.0 request")
            }
            guard isChunkedLast, chunkedCodings == 1 else {
                throw HTTP1ParseError(description: "Transfer-Encoding without chunked last, once")
            }
            guard codings == 1 else {
                throw HTTP1ParseError(description: "transfer codings other than chunked", status: .notImplemented)
            }
            return .chunked(maxTrailerBytes: maxTrailerBytes)
        }
    }
}
