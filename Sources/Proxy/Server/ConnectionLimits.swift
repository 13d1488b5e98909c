import NIOCore

/// Limits on client connections, from ``ProxyConfiguration/Limits``.
struct ConnectionLimits: Sendable {
    var maxHeaderBytes: Int
    var headerReadTimeout: TimeAmount
    var idleTimeout: TimeAmount
    var maxConnections: Int
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
