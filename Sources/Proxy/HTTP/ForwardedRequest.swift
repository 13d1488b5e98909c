import NIOCore
import NIOHTTP1

/// The request head sent to a backend, and the response head sent back to the client.
///
/// Like sidekick (Go's `httputil.ReverseProxy` plus its director): hop-by-hop fields go (see
/// ``HopByHopFields``), the client's `Host` stays, and the client is described in
/// `X-Forwarded-For` (appended to any list already there), `X-Real-IP`, `X-Forwarded-Host` and
/// `X-Forwarded-Proto`. Framing and upgrade fields that belong to this hop are set again:
/// `Transfer-Encoding: chunked` when the client's body was chunked, and `Connection: upgrade`
/// with `Upgrade` when the client asked to switch protocols (RFC 9110 7.8), so WebSocket
/// handshakes reach the backend.
///
/// Heads are written as bytes, the fields filtered on the way, because this runs twice for
/// every request; ``responseHead(for:request:keepAlive:)`` gives the same response as a value
/// for HTTP/2 streams, whose codec does the encoding.
struct ForwardedRequest {
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
    /// connection is kept alive by the proxy whatever the client asked for.
    ///
    /// - Returns: whether the body that follows must be sent chunked: the client's was, or it
    ///   is a `POST`, `PUT` or `PATCH` without `Content-Length` (an HTTP/2 stream's body of
    ///   unknown length), framed the way NIO's request encoder frames such a body.
    func write(_ request: HTTPRequestHead, into buffer: inout ByteBuffer) -> Bool {
        let headers = request.headers
        let hopByHop = HopByHopFields(of: headers)
        let upgrade = headers.upgradeProtocol
        let host = headers.first(name: "host")
        var priorForwardedFor: String?
        var hasContentLength = false
        buffer.writeRequestLine(method: request.method, uri: request.uri, version: .http1_1)
        for (name, value) in headers where !hopByHop.excludes(name) {
            if clientIP != nil {
                if HopByHopFields.equalsIgnoringCase(name, "x-forwarded-for") {
                    priorForwardedFor = priorForwardedFor ?? value
                    continue
                }
                if HopByHopFields.equalsIgnoringCase(name, "x-real-ip") { continue }
            }
            if host != nil, HopByHopFields.equalsIgnoringCase(name, "x-forwarded-host") { continue }
            if HopByHopFields.equalsIgnoringCase(name, "x-forwarded-proto") { continue }
            if HopByHopFields.equalsIgnoringCase(name, "content-length") { hasContentLength = true }
            buffer.writeField(name: name, value: value)
        }
        let chunked: Bool
        switch request.method {
        case .POST, .PUT, .PATCH: chunked = !hasContentLength
        default: chunked = !hasContentLength && headers.isChunked
        }
        if chunked {
            buffer.writeField(name: "transfer-encoding", value: "chunked")
        }
        if let upgrade {
            buffer.writeField(name: "connection", value: "upgrade")
            buffer.writeField(name: "upgrade", value: upgrade)
        }
        if hopByHop.acceptsTrailers {
            buffer.writeField(name: "te", value: "trailers")
        }
        if let clientIP, let priorForwardedFor {
            buffer.writeField(name: "x-forwarded-for", value: "\(priorForwardedFor), \(clientIP)")
            buffer.writeField(name: "x-real-ip", value: clientIP)
        } else {
            buffer.writeImmutableBuffer(clientFields)
        }
        if let host {
            buffer.writeField(name: "x-forwarded-host", value: host)
        }
        buffer.writeImmutableBuffer(protoFieldAndEnd)
        return chunked
    }

    /// What the proxy adds to a response head on its way to the client.
    ///
    /// The client side writes no framing fields of its own, so they are set here:
    /// `Content-Length` passes through; a body without one is chunked for HTTP/1.1 clients
    /// and delimited by closing the connection for HTTP/1.0 ones (see ``requiresClose``).
    /// Responses without a body (to `HEAD`, 1xx, 204, 304; RFC 9112 6.3) get no chunked framing.
    private struct ResponseFields {
        var chunked = false
        var upgrade: String?
        var connection: String?

        init(statusCode: Int, upgrade: String?, request: HTTPRequestHead, keepAlive: Bool, hasContentLength: Bool) {
            chunked = ForwardedRequest.hasBody(statusCode: statusCode, request: request) && !hasContentLength && request.version.supportsChunking
            self.upgrade = statusCode == 101 ? upgrade : nil
            if self.upgrade == nil {
                if !keepAlive {
                    connection = "close"
                } else if !request.version.supportsChunking {
                    connection = "keep-alive"
                }
            }
        }

        /// The fields to add, in order.
        func forEach(_ body: (_ name: String, _ value: String) -> Void) {
            if chunked {
                body("transfer-encoding", "chunked")
            }
            if let upgrade {
                body("connection", "upgrade")
                body("upgrade", upgrade)
            } else if let connection {
                body("connection", connection)
            }
        }
    }

    /// Writes the response head sent to an HTTP/1 client from the one the backend sent.
    ///
    /// - Parameter keepAlive: whether the client connection stays open after this response.
    /// - Returns: whether the body that follows must be sent chunked.
    static func writeResponseHead(
        for response: ResponseHead,
        request: HTTPRequestHead,
        keepAlive: Bool,
        into buffer: inout ByteBuffer
    ) -> Bool {
        if response.version == request.version, response.statusLine.readableBytes > 12 {
            buffer.writeImmutableBuffer(response.statusLine)
        } else {
            buffer.writeHTTPVersion(request.version)
            buffer.writeStaticString(" ")
            buffer.writeStatusCode(response.statusCode)
            buffer.writeStaticString(" ")
            buffer.writeImmutableBuffer(response.reasonPhrase)
        }
        buffer.writeStaticString("\r\n")
        let hasContentLength = response.forEachForwardedRun { buffer.writeBytes($0) }
        if response.acceptsTrailers {
            buffer.writeField(name: "te", value: "trailers")
        }
        let fields = ResponseFields(
            statusCode: response.statusCode,
            upgrade: response.upgrade,
            request: request,
            keepAlive: keepAlive,
            hasContentLength: hasContentLength
        )
        fields.forEach { buffer.writeField(name: $0, value: $1) }
        buffer.writeStaticString("\r\n")
        return fields.chunked
    }

    /// The response head sent to the client from the one the backend sent, as a value: what
    /// ``writeResponseHead(for:request:keepAlive:into:)`` writes.
    static func responseHead(for response: HTTPResponseHead, request: HTTPRequestHead, keepAlive: Bool) -> HTTPResponseHead {
        var head = response
        head.headers.removeHopByHopFields()
        head.version = request.version
        let fields = ResponseFields(
            statusCode: Int(response.status.code),
            upgrade: response.headers.first(name: "upgrade"),
            request: request,
            keepAlive: keepAlive,
            hasContentLength: head.headers.contains(name: "content-length")
        )
        fields.forEach { head.headers.add(name: $0, value: $1) }
        return head
    }

    /// Whether the response's body can only be delimited by closing the client connection:
    /// it has a body of unknown length and the client speaks HTTP/1.0 (RFC 9112 6.3, rule 8).
    static func requiresClose(_ response: ResponseHead, request: HTTPRequestHead) -> Bool {
        hasBody(statusCode: response.statusCode, request: request) && response.contentLength == nil
            && !request.version.supportsChunking
    }

    static func hasBody(statusCode code: Int, request: HTTPRequestHead) -> Bool {
        request.method != .HEAD && code >= 200 && code != 204 && code != 304
    }
}
