import NIOCore
import NIOSSL

/// How connections to backends are made and kept, derived from ``ProxyConfiguration/Upstream``.
struct UpstreamSettings: Sendable {
    var connectTimeout: TimeAmount
    var idleTimeout: TimeAmount
    var maxIdlePerBackend: Int
    var responseTimeout: TimeAmount
    /// For `https://` backends; `nil` when no site uses https.
    var tlsContext: NIOSSLContext?
}
