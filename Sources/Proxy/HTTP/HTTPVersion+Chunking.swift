import NIOHTTP1

extension HTTPVersion {
    /// HTTP/1.1 and later frame bodies with chunked transfer coding and keep connections alive by default.
    var supportsChunking: Bool {
        major > 1 || (major == 1 && minor >= 1)
    }

    /// The version of a response to a request of this version: HTTP/1.1 for any HTTP/1.x from
    /// 1.1 on, since that is what the proxy speaks (RFC 9110 6.2: a server sends the highest
    /// minor version it conforms to), HTTP/1.0 to HTTP/1.0.
    var responseVersion: HTTPVersion {
        guard major == 1 else { return self }
        return minor == 0 ? .http1_0 : .http1_1
    }
}
