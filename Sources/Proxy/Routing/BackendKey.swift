/// Identifies a backend across reconfigurations: the same endpoint in the same site is the
/// same backend, keeping its health, statistics and pooled connections.
struct BackendKey: Hashable, Sendable, CustomStringConvertible {
    var site: String
    var endpoint: BackendEndpoint

    var description: String { "\(site)/\(endpoint)" }
}
