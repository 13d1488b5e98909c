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
/// errors, and so is more than one `Host` field (RFC 9112 3.2); the connection is then
/// answered and closed.
///
/// A head's lines are read as they arrive and each only once, so a head sent a byte at a time
/// costs no more than one sent at once; its bytes are handed on as they came (see
/// ``RequestHead``).
struct RequestParser {
    enum Part {
        case head(RequestHead)
        case body(ByteBuffer)
        case end(HTTPHeaders?)
    }

    private enum State {
        /// Reading a head; ``progress`` holds what has been read of it.
        case head
        case body(MessageBody)
        /// The request ended with its head; the end is reported next.
        case ended
        /// The request asked to switch protocols (`Upgrade`, or `CONNECT`): what follows it is
        /// not read as HTTP (RFC 9110 7.8, 9.3.6).
        case switching
    }

    private struct RequestLine {
        var method: HTTPMethod
        /// The target in origin form: the path and query, or the whole target of `CONNECT`
        /// (authority form) and of `OPTIONS *`.
        var target: Range<Int>
        /// The authority of an absolute-form target (RFC 9112 3.2.2).
        var authority: Range<Int>?
        var version: HTTPVersion
    }

    /// Largest head (request line and fields together), and largest trailer section.
    let maxHeadBytes: Int
    private var state = State.head
    /// What has been read of a head that has not ended yet.
    private var head = HeadReader<RequestLine>()
    /// Whether the request being read asks to switch protocols.
    private var switchesProtocols = false
    /// The connection's last valid `Host`.
    private var checkedHost = CheckedHost()

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// The next part `buffer` holds, consuming its bytes; `nil` when more bytes are needed,
    /// and always after a request that asks to switch protocols: the bytes after it stay in
    /// `buffer`. The bytes of a head being read stay in `buffer` until it is whole.
    mutating func next(from buffer: inout ByteBuffer) throws -> Part? {
        switch state {
        case .head:
            guard let (head, body) = try readHead(from: &buffer) else { return nil }
            switchesProtocols = head.asksToSwitchProtocols
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

    private mutating func finishMessage() {
        state = switchesProtocols ? .switching : .head
    }

    // MARK: Head

    /// The head at the start of `buffer` and how its body is framed, once the head is whole.
    private mutating func readHead(from buffer: inout ByteBuffer) throws -> (RequestHead, MessageBody?)? {
        if head.isAtStart {
            // Empty lines before a request line are ignored (RFC 9112 2.2).
            while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == UInt16(0x0D0A) {
                buffer.moveReaderIndex(forwardBy: 2)
            }
        }
        let limit = maxHeadBytes
        let length = try buffer.withUnsafeReadableBytes { bytes in
            try head.read(bytes, limit: limit, parseStartLine: Self.parseRequestLine)
        }
        guard let length, let requestLine = head.startLine else { return nil }
        let fields = head.fields
        let fieldsStart = head.fieldsStart
        head = HeadReader()
        let bytes = buffer.readSlice(length: length - 2)!
        buffer.moveReaderIndex(forwardBy: 2)
        guard fields.hostCount <= 1 else {
            throw HTTP1ParseError(description: "more than one Host field")
        }
        var hostIsValid = true
        if let host = fields.host {
            hostIsValid = bytes.withUnsafeReadableBytes { head in
                checkedHost.isValid(UnsafeRawBufferPointer(rebasing: head[(fieldsStart + host.lowerBound)..<(fieldsStart + host.upperBound)]))
            }
        }
        let request = RequestHead(
            method: requestLine.method,
            version: requestLine.version,
            bytes: bytes,
            target: requestLine.target,
            authority: requestLine.authority,
            fieldsStart: fieldsStart,
            fields: fields,
            hostIsValid: hostIsValid
        )
        return (request, try Self.body(of: fields, version: requestLine.version, maxTrailerBytes: maxHeadBytes))
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 3).
    private static func parseRequestLine(_ line: UnsafeRawBufferPointer) throws -> RequestLine {
        let methodEnd = ASCII.tokenEnd(in: line)
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
        let method = method(UnsafeRawBufferPointer(rebasing: line[0..<methodEnd]))
        let version = HTTPVersion(major: major, minor: minor)
        guard line[methodEnd + 1] != UInt8(ascii: "/") else {
            // Origin form, the common case.
            return RequestLine(method: method, target: (methodEnd + 1)..<targetEnd, authority: nil, version: version)
        }
        let (target, authority) = try Self.target(in: line, at: (methodEnd + 1)..<targetEnd, method: method)
        return RequestLine(method: method, target: target, authority: authority, version: version)
    }

    /// The request target's form (RFC 9112 3.2): origin form (`/path?query`); absolute form
    /// (`http://authority/path?query`), whose authority then replaces `Host` (3.2.2); authority
    /// form for `CONNECT` only; asterisk form for `OPTIONS` only. Anything else is an error.
    ///
    /// - Returns: the origin-form part (empty for an absolute form without a path) and, for the
    ///   absolute form, where the authority is.
    private static func target(
        in line: UnsafeRawBufferPointer,
        at range: Range<Int>,
        method: HTTPMethod
    ) throws -> (target: Range<Int>, authority: Range<Int>?) {
        let first = line[range.lowerBound]
        if first == UInt8(ascii: "/") {
            return (range, nil)
        }
        switch method {
        case .CONNECT:
            return (range, nil)
        case .OPTIONS where range.count == 1 && first == UInt8(ascii: "*"):
            return (range, nil)
        default:
            break
        }
        let text = UnsafeRawBufferPointer(rebasing: line[range])
        let schemeLength: Int
        if ASCII.hasPrefixIgnoringCase(text, "http://") {
            schemeLength = 7
        } else if ASCII.hasPrefixIgnoringCase(text, "https://") {
            schemeLength = 8
        } else {
            throw HTTP1ParseError(description: "invalid request target")
        }
        let authorityStart = range.lowerBound + schemeLength
        var authorityEnd = authorityStart
        while authorityEnd < range.upperBound, line[authorityEnd] != UInt8(ascii: "/"), line[authorityEnd] != UInt8(ascii: "?"),
            line[authorityEnd] != UInt8(ascii: "#")
        {
            authorityEnd += 1
        }
        let authority = UnsafeRawBufferPointer(rebasing: line[authorityStart..<authorityEnd])
        // RFC 9110 4.2.4: userinfo in an http(s) URI is an error, and the authority names a host.
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")), HTTP1Syntax.isValidHost(authority) else {
            throw HTTP1ParseError(description: "invalid authority in the request target")
        }
        return (authorityEnd..<range.upperBound, authorityStart..<authorityEnd)
    }

    /// The method `token` names; the common ones without making a `String` (methods are
    /// case-sensitive, RFC 9110 9.1).
    private static func method(_ token: UnsafeRawBufferPointer) -> HTTPMethod {
        func spells(_ name: StaticString) -> Bool {
            token.count == name.utf8CodeUnitCount && ASCII.hasPrefix(token, name)
        }
        switch token.count {
        case 3 where spells("GET"): return .GET
        case 3 where spells("PUT"): return .PUT
        case 4 where spells("HEAD"): return .HEAD
        case 4 where spells("POST"): return .POST
        case 5 where spells("PATCH"): return .PATCH
        case 6 where spells("DELETE"): return .DELETE
        case 7 where spells("OPTIONS"): return .OPTIONS
        default: return HTTPMethod(rawValue: String(decoding: token, as: UTF8.self))
        }
    }

    /// How a request's body is delimited (RFC 9112 6.1–6.3), from what its fields say.
    private static func body(of fields: HeadFields, version: HTTPVersion, maxTrailerBytes: Int) throws -> MessageBody? {
        guard fields.hasTransferEncoding else {
            return fields.contentLength.flatMap { $0 > 0 ? .fixed($0) : nil }
        }
        guard fields.contentLength == nil else {
            throw HTTP1ParseError(description: "both Content-Length and Transfer-Encoding")
        }
        guard version.supportsChunking else {
            throw HTTP1ParseError(description: "Transfer-Encoding in an HTTP/1.0 request")
        }
        guard fields.isChunked, fields.chunkedCodings == 1 else {
            throw HTTP1ParseError(description: "Transfer-Encoding without chunked last, once")
        }
        guard fields.transferCodings == 1 else {
            throw HTTP1ParseError(description: "transfer codings other than chunked", status: .notImplemented)
        }
        return .chunked(maxTrailerBytes: maxTrailerBytes)
    }
}
