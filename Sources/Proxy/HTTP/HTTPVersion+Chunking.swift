import NIOHTTP1

extension HTTPVersion {
    /// HTTP/1.1 and later frame bodies with chunked transfer coding and keep connections alive by default.
    var supportsChunking: Bool {
        major > 1 || (major == 1 && minor >= 1)
    }
}
