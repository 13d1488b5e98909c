/// A backend's address as parsed from a pool string: scheme, host and port.
///
/// Sidekick proxies to the URL's origin; a path in the pool URL is rejected rather than
/// silently prefixed, so that the request path a client sends is the path the backend sees.
public struct BackendEndpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case http
        case https

        var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    /// The host name or IP address, without brackets for IPv6.
    public var host: String
    public var port: Int

    public init(scheme: Scheme, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// `scheme://host:port`, the name of the backend in metrics, status and traces.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(hostPart):\(port)"
    }

    /// The `Host` header value for requests of the proxy's own, such as health checks.
    var hostHeader: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? hostPart : "\(hostPart):\(port)"
    }

    /// Why a pool URL is not a backend address.
    struct ParseFailure: Error, Equatable {
        var reason: String
    }

    /// Parses `http://host[:port][/]`.
    static func parse(_ text: String) -> Result<BackendEndpoint, ParseFailure> {
        guard let separator = text.firstRange(of: "://") else { return .failure("missing scheme") }
        guard let scheme = Scheme(rawValue: text[..<separator.lowerBound].lowercased()) else {
            return .failure("scheme must be http or https")
        }
        var authority = text[separator.upperBound...]
        if let slash = authority.firstIndex(of: "/") {
            guard authority[slash...] == "/" else { return .failure("a path is not supported") }
            authority = authority[..<slash]
        }
        if authority.contains("@") || authority.contains("?") || authority.contains("#") {
            return .failure("user info, query and fragment are not supported")
        }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure("unclosed '['") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure("unexpected text after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure("missing host") }
        var port = scheme.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value) else { return .failure("invalid port") }
            port = value
        }
        return .success(BackendEndpoint(scheme: scheme, host: String(host), port: port))
    }
}

extension BackendEndpoint.ParseFailure: ExpressibleByStringLiteral {
    init(stringLiteral value: String) {
        self.reason = value
    }
}
