import NIOCore

/// Limits on client connections, from ``ProxyConfiguration/Limits``.
struct ConnectionLimits: Sendable {
    var maxHeaderBytes: Int
    var headerReadTimeout: TimeAmount
    var idleTimeout: TimeAmount
    var maxConnections: Int
}
