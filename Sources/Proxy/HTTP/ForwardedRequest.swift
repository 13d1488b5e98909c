import NIOHTTP1

/// Builds the request head sent to a backend from the one a client sent.
///
/// Like sidekick (Go's `httputil.ReverseProxy` plus its director): hop-by-hop fields go, the
/// client's `Host` stays, and the client is described in `X-Forwarded-For` (appended to any list
/// already there), `X-Real-IP`, `X-Forwarded-Host` and `X-Forwarded-Proto`. Framing and upgrade
/// fields that belong to this hop are set again: `Transfer-Encoding: chunked` when the client's
/// body was chunked, and `Connection: upgrade` with `Upgrade` when the client asked to switch
/// protocols (RFC 9110 7.8), so WebSocket handshakes reach the backend.
struct ForwardedRequest {
    /// The client's IP address as text, if known.
    var clientIP: String?
    /// `http` or `https`: how the client reached the proxy.
    var scheme: String

    func head(for request: HTTPRequestHead) -> HTTPRequestHead {
        var head = request
        let chunked = request.headers.isChunked
        let upgrade = request.headers.upgradeProtocol
        head.headers.removeHopByHopFields()
        if chunked {
            head.headers.add(name: "transfer-encoding", value: "chunked")
        }
        if let upgrade {
            head.headers.add(name: "connection", value: "upgrade")
            head.headers.add(name: "upgrade", value: upgrade)
        }
        if let clientIP {
            if let prior = head.headers.first(name: "x-forwarded-for") {
                head.headers.replaceOrAdd(name: "x-forwarded-for", value: "\(prior), \(clientIP)")
            } else {
                head.headers.add(name: "x-forwarded-for", value: clientIP)
            }
            head.headers.replaceOrAdd(name: "x-real-ip", value: clientIP)
        }
        if let host = request.headers.first(name: "host") {
            head.headers.replaceOrAdd(name: "x-forwarded-host", value: host)
        }
        head.headers.replaceOrAdd(name: "x-forwarded-proto", value: scheme)
        // The backend connection is kept alive by the proxy whatever the client asked for.
        head.version = .http1_1
        return head
    }

    /// The response head sent to the client from the one the backend sent.
    ///
    /// The client connection's encoder does not add framing fields, so they are set here:
    /// `Content-Length` passes through; a body without one is chunked for HTTP/1.1 clients
    /// and delimited by closing the connection for HTTP/1.0 ones (see ``requiresClose``).
    /// Responses without a body (to `HEAD`, 1xx, 204, 304; RFC 9112 6.3) get no chunked framing.
    ///
    /// - Parameter keepAlive: whether the client connection stays open after this response.
    static func responseHead(for response: HTTPResponseHead, request: HTTPRequestHead, keepAlive: Bool) -> HTTPResponseHead {
        var head = response
        let upgrade = response.status == .switchingProtocols ? response.headers.first(name: "upgrade") : nil
        head.headers.removeHopByHopFields()
        head.version = request.version
        if hasBody(response, request: request), !head.headers.contains(name: "content-length"), request.version.supportsChunking {
            head.headers.add(name: "transfer-encoding", value: "chunked")
        }
        if let upgrade {
            head.headers.add(name: "connection", value: "upgrade")
            head.headers.add(name: "upgrade", value: upgrade)
        } else if !keepAlive {
            head.headers.add(name: "connection", value: "close")
        } else if !request.version.supportsChunking {
            head.headers.add(name: "connection", value: "keep-alive")
        }
        return head
    }

    /// Whether the response's body can only be delimited by closing the client connection:
    /// it has a body of unknown length and the client speaks HTTP/1.0 (RFC 9112 6.3, rule 8).
    static func requiresClose(_ response: HTTPResponseHead, request: HTTPRequestHead) -> Bool {
        hasBody(response, request: request) && !response.headers.contains(name: "content-length")
            && !request.version.supportsChunking
    }

    static func hasBody(_ response: HTTPResponseHead, request: HTTPRequestHead) -> Bool {
        let code = response.status.code
        return request.method != .HEAD && code >= 200 && code != 204 && code != 304
    }
}
