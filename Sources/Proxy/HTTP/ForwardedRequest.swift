import NIOCore
import NIOHTTP1

/// The request head sent to a backend, and the response head sent back to the client.
///
/// Like sidekick (Go's `httputil.ReverseProxy` plus its director): hop-by-hop fields go (see
/// ``KnownField`` and ``HeadFields``), the client's `Host` stays, and the client is described in
/// `X-Forwarded-For` (appended to the client's own lines, joined), `X-Real-IP`,
/// `X-Forwarded-Host` and `X-Forwarded-Proto`. Framing and upgrade fields that belong to this hop are set again:
/// `Transfer-Encoding: chunked` when the client's body was chunked, and `Connection: upgrade`
/// with `Upgrade` when the client asked to switch protocols (RFC 9110 7.8), so WebSocket
/// handshakes reach the backend.
///
/// Heads are written as bytes, the fields filtered on the way, because this runs twice for
/// every request; ``responseHead(for:request:keepAlive:)`` gives the same response as a value
/// for HTTP/2 streams, whose codec does the encoding.
///
/// One per client connection, handed to the backend connection with every request: a class,
/// so handing it on takes one reference count rather than one per field.
final class ForwardedRequest: Sendable {
    /// The client's IP address as text, if known.
    let clientIP: String?
    /// `http` or `https`: how the client reached the proxy.
    let scheme: String
    /// The fields that are the same for every request of the connection, written ahead:
    /// `X-Forwarded-For` and `X-Real-IP` for a request that has no `X-Forwarded-For` yet, and
    /// `X-Forwarded-Proto` with the empty line that ends the head.
    private let clientFields: ByteBuffer
    private let protoFieldAndEnd: ByteBuffer

    init(clientIP: String?, scheme: String) {
        self.clientIP = clientIP
        self.scheme = scheme
        var clientFields = ByteBuffer()
        if let clientIP {
            clientFields.writeField(name: "x-forwarded-for", value: clientIP)
            clientFields.writeField(name: "x-real-ip", value: clientIP)
        }
        self.clientFields = clientFields
        var protoFieldAndEnd = ByteBuffer()
        protoFieldAndEnd.writeField(name: "x-forwarded-proto", value: scheme)
        protoFieldAndEnd.writeStaticString("\r\n")
        self.protoFieldAndEnd = protoFieldAndEnd
    }

    /// Writes the head sent to the backend for `request`, always as HTTP/1.1 since the backend
    /// connection is kept alive by the proxy whatever the client asked for. The request target
    /// and the field lines that are kept are copied as the client sent them.
    ///
    /// - Returns: whether the body that follows must be sent chunked: the client's was, or it
    ///   is a `POST`, `PUT` or `PATCH` without `Content-Length` (an HTTP/2 stream's body of
    ///   unknown length), framed the way NIO's request encoder frames such a body.
    func write(_ request: RequestHead, into buffer: inout ByteBuffer) -> Bool {
        write(request, adding: nil, into: &buffer)
    }

    /// ``write(_:into:)`` with `extra` fields added after the kept ones, each checked as a
    /// client's field is (a cache's revalidation conditions).
    @inline(__always)
    func write(_ request: RequestHead, adding extra: HTTPHeaders?, into buffer: inout ByteBuffer) -> Bool {
        let fields = request.fields
        let hasContentLength = fields.contentLength != nil
        let chunked: Bool
        switch request.method {
        case .POST, .PUT, .PATCH: chunked = !hasContentLength
        default: chunked = !hasContentLength && fields.isChunked
        }
        let authority = request.authority
        request.withBytes { head, lines in
            buffer.writeHead(maximumLength: extra.map { maximumLength(of: request, adding: $0) } ?? maximumLength(of: request)) { writer in
                if let authority {
                    // An absolute-form target goes on in origin form, its authority as Host.
                    writer.write(UnsafeRawBufferPointer(rebasing: head[0..<request.method.rawValue.utf8.count + 1]))
                    if request.target.isEmpty {
                        writer.write("/")
                    } else {
                        writer.write(UnsafeRawBufferPointer(rebasing: head[request.target]))
                    }
                } else {
                    writer.write(UnsafeRawBufferPointer(rebasing: head[0..<request.target.upperBound]))
                }
                writer.write(" HTTP/1.1\r\n")
                let hasHost = fields.host != nil || authority != nil
                let hasClientIP = clientIP != nil
                fields.forEachKeptRun(of: lines, omittingHost: authority != nil) { omission in
                    switch omission {
                    case .hopByHop, .forwardedProto: return true
                    case .forwardedFor, .realIP: return hasClientIP
                    case .forwardedHost: return hasHost
                    }
                } _: {
                    writer.write($0)
                }
                if let authority {
                    writer.write("host: ")
                    writer.write(UnsafeRawBufferPointer(rebasing: head[authority]))
                    writer.write("\r\n")
                }
                if fields.rewritesContentLength, let length = fields.contentLength {
                    writer.write("content-length: ")
                    writer.write(string: String(length))
                    writer.write("\r\n")
                }
                if let extra {
                    // Checked as a client's fields are: a line break in a value would make two lines.
                    for (name, value) in extra
                    where !name.isEmpty && name.utf8.allSatisfy(ASCII.isTokenCharacter) && value.utf8.allSatisfy(ASCII.isFieldValueByte) {
                        writer.write(string: name)
                        writer.write(": ")
                        writer.write(string: value)
                        writer.write("\r\n")
                    }
                }
                if chunked {
                    writer.write("transfer-encoding: chunked\r\n")
                }
                if request.asksToUpgrade, let upgrade = fields.upgrade {
                    writer.write("connection: upgrade\r\nupgrade: ")
                    writer.write(UnsafeRawBufferPointer(rebasing: lines[upgrade]))
                    writer.write("\r\n")
                }
                if fields.acceptsTrailers {
                    writer.write("te: trailers\r\n")
                }
                // Go's ReverseProxy joins every X-Forwarded-For line and appends the client.
                var priorForwardedFor = false
                if let clientIP {
                    fields.forEachValue(of: .forwardedFor, in: lines) { value in
                        writer.write(priorForwardedFor ? ", " : "x-forwarded-for: ")
                        writer.write(value)
                        priorForwardedFor = true
                    }
                    if priorForwardedFor {
                        writer.write(", ")
                        writer.write(string: clientIP)
                        writer.write("\r\nx-real-ip: ")
                        writer.write(string: clientIP)
                        writer.write("\r\n")
                    }
                }
                if !priorForwardedFor {
                    writer.write(clientFields)
                }
                if let authority {
                    writer.write("x-forwarded-host: ")
                    writer.write(UnsafeRawBufferPointer(rebasing: head[authority]))
                    writer.write("\r\n")
                } else if let host = fields.host {
                    writer.write("x-forwarded-host: ")
                    writer.write(UnsafeRawBufferPointer(rebasing: lines[host]))
                    writer.write("\r\n")
                }
                writer.write(protoFieldAndEnd)
            }
        }
        return chunked
    }

    /// The most bytes ``write(_:into:)`` writes for `request`: everything written is a piece of
    /// the client's head, the client's address or one of the fixed texts, each at most once
    /// (see ``HeadWriter``).
    func maximumLength(of request: RequestHead) -> Int {
        2 * request.bytes.readableBytes + 2 * (clientIP?.utf8.count ?? 0) + clientFields.readableBytes
            + protoFieldAndEnd.readableBytes + 320
    }

    /// ``maximumLength(of:)`` with `extra` fields added.
    func maximumLength(of request: RequestHead, adding extra: HTTPHeaders) -> Int {
        maximumLength(of: request) + extra.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    }

    /// The most bytes ``writeResponseHead(for:request:keepAlive:into:)`` writes for `response`:
    /// its status line (rewritten, at most a byte longer), the lines kept and the `Upgrade`
    /// value, each at most once, and the fixed texts.
    static func maximumLength(of response: ResponseHead) -> Int {
        2 * response.bytes.readableBytes + 192
    }

    /// What the proxy adds to a response head on its way to the client.
    ///
    /// The client side writes no framing fields of its own, so they are set here:
    /// `Content-Length` passes through; a body without one is chunked for HTTP/1.1 clients
    /// and delimited by closing the connection for HTTP/1.0 ones (see ``requiresClose``).
    /// Responses without a body (to `HEAD`, 1xx, 204, 304; RFC 9112 6.3) get no chunked framing.
    /// A `101` keeps its `Upgrade` with `Connection: upgrade`.
    private struct ResponseFields {
        var chunked = false
        var upgrade = false
        var connection: StaticString?

        init(statusCode: Int, hasUpgrade: Bool, request: RequestHead, keepAlive: Bool, hasContentLength: Bool) {
            chunked = ForwardedRequest.hasBody(statusCode: statusCode, request: request) && !hasContentLength && request.version.supportsChunking
            upgrade = statusCode == 101 && hasUpgrade
            if !upgrade {
                if !keepAlive {
                    connection = "close"
                } else if !request.version.supportsChunking {
                    connection = "keep-alive"
                }
            }
        }
    }

    /// Writes the response head sent to an HTTP/1 client from the one the backend sent: its
    /// status line and the field lines that are kept as the backend wrote them.
    ///
    /// - Parameter keepAlive: whether the client connection stays open after this response.
    /// - Returns: whether the body that follows must be sent chunked.
    static func writeResponseHead(
        for response: ResponseHead,
        request: RequestHead,
        keepAlive: Bool,
        into buffer: inout ByteBuffer
    ) -> Bool {
        let fields = ResponseFields(
            statusCode: response.statusCode,
            hasUpgrade: response.fields.upgrade != nil,
            request: request,
            keepAlive: keepAlive,
            hasContentLength: response.fields.contentLength != nil
        )
        var rewrittenStatusLine: ByteBuffer?
        let version = request.version.responseVersion
        if response.version != version || response.statusLineLength <= 12 {
            var statusLine = ByteBuffer()
            statusLine.writeHTTPVersion(version)
            statusLine.writeStaticString(" ")
            statusLine.writeStatusCode(response.statusCode)
            statusLine.writeStaticString(" ")
            statusLine.writeImmutableBuffer(response.reasonPhrase)
            rewrittenStatusLine = statusLine
        }
        response.withBytes { statusLine, lines in
            buffer.writeHead(maximumLength: maximumLength(of: response)) { writer in
                if let rewrittenStatusLine {
                    writer.write(rewrittenStatusLine)
                } else {
                    writer.write(statusLine)
                }
                writer.write("\r\n")
                response.fields.forEachKeptRun(of: lines) { $0 == .hopByHop } _: {
                    writer.write($0)
                }
                if response.fields.rewritesContentLength, let length = response.fields.contentLength {
                    writer.write("content-length: ")
                    writer.write(string: String(length))
                    writer.write("\r\n")
                }
                if response.fields.acceptsTrailers {
                    writer.write("te: trailers\r\n")
                }
                if fields.chunked {
                    writer.write("transfer-encoding: chunked\r\n")
                }
                if fields.upgrade, let upgrade = response.fields.upgrade {
                    writer.write("connection: upgrade\r\nupgrade: ")
                    writer.write(UnsafeRawBufferPointer(rebasing: lines[upgrade]))
                    writer.write("\r\n")
                } else if let connection = fields.connection {
                    writer.write("connection: ")
                    writer.write(connection)
                    writer.write("\r\n")
                }
                writer.write("\r\n")
            }
        }
        return fields.chunked
    }

    /// The response head sent to the client from the one the backend sent, as a value: what
    /// ``writeResponseHead(for:request:keepAlive:into:)`` writes.
    static func responseHead(for response: HTTPResponseHead, request: RequestHead, keepAlive: Bool) -> HTTPResponseHead {
        var head = response
        head.headers.removeHopByHopFields()
        head.version = request.version.responseVersion
        let upgrade = response.headers.first(name: "upgrade")
        let fields = ResponseFields(
            statusCode: Int(response.status.code),
            hasUpgrade: upgrade != nil,
            request: request,
            keepAlive: keepAlive,
            hasContentLength: head.headers.contains(name: "content-length")
        )
        if fields.chunked {
            head.headers.add(name: "transfer-encoding", value: "chunked")
        }
        if fields.upgrade, let upgrade {
            head.headers.add(name: "connection", value: "upgrade")
            head.headers.add(name: "upgrade", value: upgrade)
        } else if let connection = fields.connection {
            head.headers.add(name: "connection", value: connection.description)
        }
        return head
    }

    /// Whether the response's body can only be delimited by closing the client connection:
    /// it has a body of unknown length and the client speaks HTTP/1.0 (RFC 9112 6.3, rule 8).
    static func requiresClose(_ response: ResponseHead, request: RequestHead) -> Bool {
        hasBody(statusCode: response.statusCode, request: request) && response.fields.contentLength == nil
            && !request.version.supportsChunking
    }

    static func hasBody(statusCode code: Int, request: RequestHead) -> Bool {
        !request.isHEAD && code >= 200 && code != 204 && code != 304
    }
}
