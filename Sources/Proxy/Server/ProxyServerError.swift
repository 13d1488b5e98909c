/// Why the proxy could not start, reconfigure or keep running.
public enum ProxyServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A listener could not be bound; `address` is `host:port` as configured.
    case bindFailed(address: String, reason: String)
    /// A certificate or key could not be loaded.
    case tls(reason: String)
    /// A listener stopped while the proxy was running.
    case listenerFailed(address: String)
    case alreadyStarted
    /// ``ProxyServer/reconfigure(_:)`` before ``ProxyServer/start()`` or after shutdown.
    case notRunning
    /// A connection was refused because `limits.max_connections` were open.
    case tooManyConnections
    /// ``ProxyServer/replaceBackends(ofSite:with:)`` named a site the proxy does not have.
    case unknownSite(String)

    public var description: String {
        switch self {
        case .bindFailed(let address, let reason): "cannot listen on \(address): \(reason)"
        case .tls(let reason): "TLS: \(reason)"
        case .listenerFailed(let address): "listener \(address) stopped"
        case .alreadyStarted: "proxy already started"
        case .notRunning: "proxy is not running"
        case .tooManyConnections: "too many connections"
        case .unknownSite(let name): "no site named \(name)"
        }
    }
}
