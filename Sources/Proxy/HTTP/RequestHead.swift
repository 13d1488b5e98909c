import NIOCore
import NIOHTTP1

/// A client's request head as it came off the wire: its bytes, and what the proxy needs to
/// know of it (see ``RequestParser``).
///
/// The head is forwarded by copying its request target and the field lines it keeps as they
/// came (see ``ForwardedRequest``), so no field becomes a `String`. An HTTP/2 stream's head is
/// written out in HTTP/1 syntax and read by the same code (``init(_:)``), so both kinds of
/// client are forwarded alike.
///
/// Immutable, and a class: the parser, the exchange, the backend's encoder and the response
/// writer each hold the one head by a reference instead of copying its fields.
final class RequestHead: Sendable {
    let method: HTTPMethod
    let version: HTTPVersion
    /// The request line and the field lines, each with its CRLF, without the empty line.
    let bytes: ByteBuffer
    /// Where the request target is in ``bytes``, in origin form: for an absolute-form target
    /// (`http://authority/path`) its path and query only, empty when it has no path.
    let target: Range<Int>
    /// Where the authority of an absolute-form target is in ``bytes``; it replaces `Host`
    /// (RFC 9112 3.2.2).
    let authority: Range<Int>?
    /// Where the field lines start in ``bytes``.
    let fieldsStart: Int
    let fields: HeadFields
    /// Whether the `Host` value, if any, is `host[:port]` (RFC 9110 7.2), as the reader found.
    let hostIsValid: Bool

    /// Whether the client keeps the connection open after the response (RFC 9112 9.3).
    var isKeepAlive: Bool {
        fields.isKeepAlive(major: version.major, minor: version.minor)
    }

    /// Whether the method is `HEAD`, whose response has no body (RFC 9110 9.3.2). Matched as a
    /// case: `HTTPMethod`'s `==` compares raw values as strings.
    var isHEAD: Bool {
        if case .HEAD = method { return true }
        return false
    }

    /// Whether the method is `GET` or `HEAD`, the ones a cache answers (RFC 9111 2).
    var isGETOrHEAD: Bool {
        switch method {
        case .GET, .HEAD: return true
        default: return false
        }
    }

    /// Whether the method is `CONNECT`, whose 2xx response turns the connection into a tunnel
    /// (RFC 9110 9.3.6).
    var isCONNECT: Bool {
        if case .CONNECT = method { return true }
        return false
    }

    /// Whether the request has a body: it is chunked, or it has a non-zero `Content-Length`.
    var hasBody: Bool {
        fields.isChunked || (fields.contentLength ?? 0) > 0
    }

    /// Whether what follows the request on the connection is not HTTP/1 if the server agrees:
    /// `CONNECT`, or `Upgrade` named in `Connection` (RFC 9110 7.8, 9.3.6).
    var asksToSwitchProtocols: Bool {
        isCONNECT || asksToUpgrade
    }

    /// Whether the request asks to upgrade the connection (RFC 9110 7.8).
    var asksToUpgrade: Bool {
        fields.connectionUpgrade && fields.upgrade != nil
    }

    /// The request's authority, `host[:port]`: an absolute-form target's, which replaces `Host` (RFC 9112 3.2.2), or
    /// the `Host` value; empty when there is neither. Made into a `String` only for virtual-host routing.
    var authorityText: String {
        if let authority {
            return bytes.getString(at: bytes.readerIndex + authority.lowerBound, length: authority.count) ?? ""
        }
        guard let host = fields.host else { return "" }
        return bytes.getString(at: bytes.readerIndex + fieldsStart + host.lowerBound, length: host.count) ?? ""
    }

    /// Why the request cannot be routed, if it cannot: RFC 9112 3.2 has a server answer 400 to
    /// an HTTP/1.1 request without `Host`, and to one whose `Host` is not `host` or
    /// `host:port` (RFC 9110 7.2). More than one `Host` is refused by the parser.
    var hostProblem: HTTP1ParseError? {
        guard fields.host != nil else {
            return version.supportsChunking ? HTTP1ParseError(description: "HTTP/1.1 request without Host") : nil
        }
        return hostIsValid ? nil : HTTP1ParseError(description: "invalid Host")
    }

    /// The request target in origin form, as text.
    var uri: String {
        target.isEmpty ? "/" : bytes.getString(at: bytes.readerIndex + target.lowerBound, length: target.count) ?? ""
    }

    /// Whether the target is `path` or `path` with a query.
    func targets(path: StaticString) -> Bool {
        bytes.withUnsafeReadableBytes { bytes in
            let target = UnsafeRawBufferPointer(rebasing: bytes[target])
            return ASCII.hasPrefix(target, path)
                && (target.count == path.utf8CodeUnitCount || target[path.utf8CodeUnitCount] == UInt8(ascii: "?"))
        }
    }

    /// The head of an HTTP/2 stream's request, as NIO's codec gives it, written out as HTTP/1
    /// and read by ``RequestParser``'s rules: fields that could not be written in HTTP/1 make it
    /// an error, answered with 400.
    convenience init(_ head: HTTPRequestHead) throws {
        var bytes = ByteBuffer()
        bytes.writeString(head.method.rawValue)
        bytes.writeStaticString(" ")
        bytes.writeString(head.uri)
        bytes.writeStaticString(" HTTP/1.1\r\n")
        let fieldsStart = bytes.readableBytes
        for (name, value) in head.headers {
            // Checked before writing: a line break in a value would otherwise make two lines.
            guard !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenCharacter), value.utf8.allSatisfy(ASCII.isFieldValueByte) else {
                throw HTTP1ParseError(description: "invalid field line")
            }
            bytes.writeField(name: name, value: value)
        }
        let target = (head.method.rawValue.utf8.count + 1)..<(fieldsStart - 11)
        guard !head.uri.isEmpty, !head.uri.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw HTTP1ParseError(description: "invalid request target")
        }
        bytes.writeStaticString("\r\n")
        var fields = HeadFields()
        var progress = HeadFields.LineProgress(position: fieldsStart)
        let length = try bytes.withUnsafeReadableBytes { bytes in
            try fields.readLines(in: bytes, fieldsStart: fieldsStart, limit: .max, progress: &progress)
        }
        guard length == bytes.readableBytes else { throw HTTP1ParseError(description: "invalid field line") }
        guard fields.hostCount <= 1 else { throw HTTP1ParseError(description: "more than one Host field") }
        let hostIsValid = fields.host.map { host in
            bytes.withUnsafeReadableBytes { head in
                HTTP1Syntax.isValidHost(UnsafeRawBufferPointer(rebasing: head[(fieldsStart + host.lowerBound)..<(fieldsStart + host.upperBound)]))
            }
        } ?? true
        bytes.moveWriterIndex(to: bytes.writerIndex - 2)
        self.init(
            method: head.method,
            version: head.version,
            bytes: bytes,
            target: target,
            fieldsStart: fieldsStart,
            fields: fields,
            hostIsValid: hostIsValid
        )
    }

    init(
        method: HTTPMethod,
        version: HTTPVersion,
        bytes: ByteBuffer,
        target: Range<Int>,
        authority: Range<Int>? = nil,
        fieldsStart: Int,
        fields: HeadFields,
        hostIsValid: Bool = true
    ) {
        self.method = method
        self.version = version
        self.bytes = bytes
        self.target = target
        self.authority = authority
        self.hostIsValid = hostIsValid
        self.fieldsStart = fieldsStart
        self.fields = fields
    }

    /// Calls `body` with the head's bytes and its field lines within them.
    func withBytes<Result>(_ body: (_ head: UnsafeRawBufferPointer, _ fieldLines: UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeReadableBytes { head in
            try body(head, UnsafeRawBufferPointer(rebasing: head[fieldsStart...]))
        }
    }
}
