import NIOCore

/// Which site serves a request, by its `Host` (``ProxyConfiguration/routes``): an exact name first, then the longest
/// `*.` wildcard that matches, then the default site, as nginx's `server_name` chooses (without its regular
/// expressions). Names are compared in lower case and without the port (RFC 9110 4.2.3: the host is
/// case-insensitive).
struct HostRoutes: Sendable {
    /// Site positions by exact name.
    private let exact: [String: Int]
    /// Site positions by wildcard suffix: `*.example.com` is kept as `example.com`.
    private let wildcards: [String: Int]
    private let defaultSite: Int?

    /// - Throws: ``ProxyConfigurationError/unknownRouteSite(_:)`` for a route or default naming no site in `sites`,
    ///   ``ProxyConfigurationError/invalidRouteHost(host:reason:)`` for a host that is not a name or wildcard, or
    ///   that two routes name.
    init(_ routes: [ProxyConfiguration.Route], defaultSite: String?, sites: [String]) throws(ProxyConfigurationError) {
        var exact: [String: Int] = [:]
        var wildcards: [String: Int] = [:]
        for route in routes {
            guard let index = sites.firstIndex(of: route.site) else { throw .unknownRouteSite(route.site) }
            for host in route.hosts {
                let name = host.lowercased()
                let isWildcard = name.hasPrefix("*.")
                let bare = isWildcard ? String(name.dropFirst(2)) : name
                guard Self.isHostName(bare) else {
                    throw .invalidRouteHost(host: host, reason: "not a host name (letters, digits, '-' and '.', or a leading '*.')")
                }
                if isWildcard {
                    guard wildcards.updateValue(index, forKey: bare) == nil else { throw .invalidRouteHost(host: host, reason: "named by two routes") }
                } else {
                    guard exact.updateValue(index, forKey: bare) == nil else { throw .invalidRouteHost(host: host, reason: "named by two routes") }
                }
            }
        }
        if let defaultSite {
            guard let index = sites.firstIndex(of: defaultSite) else { throw .unknownRouteSite(defaultSite) }
            self.defaultSite = index
        } else {
            self.defaultSite = nil
        }
        self.exact = exact
        self.wildcards = wildcards
    }

    /// The position of the site for a request whose host (`host[:port]`, as `Host` or an absolute target's
    /// authority carries it) is `authority`; nil when no route names it and there is no default.
    func site(forAuthority authority: String) -> Int? {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            host = host.firstIndex(of: "]").map { host[...$0] } ?? host
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        let name = host.lowercased()
        if let index = exact[name] { return index }
        var rest = Substring(name)
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            if let index = wildcards[String(rest)] { return index }
        }
        return defaultSite
    }

    /// Routes naming no host and no default site: every request gets `404`.
    static let none = HostRoutes()

    private init() {
        exact = [:]
        wildcards = [:]
        defaultSite = nil
    }

    static func isHostName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
    }
}
