import NIOCore

extension BackendEndpoint {
    /// Whether the host is an IP literal, which TLS must not send as SNI (RFC 6066 3).
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
