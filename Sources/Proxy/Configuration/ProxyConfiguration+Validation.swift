extension ProxyConfiguration {
    /// Validates the configuration and expands every site's pools into backends.
    ///
    /// A site's pools are expanded as sidekick expands a `SITE` argument: only when every pool
    /// of the site contains a `{a...b}` range; otherwise each pool is taken literally, and a
    /// literal with a brace left in it is an error. Duplicated backends within a site are kept
    /// once, in first-seen order.
    public func resolvedSites() throws(ProxyConfigurationError) -> [ResolvedSite] {
        guard !sites.isEmpty || sitesAddedAtRunTime else { throw .noSites }
        var resolved: [ResolvedSite] = []
        var names: Set<String> = []
        for (position, site) in sites.enumerated() {
            let name = site.name.isEmpty ? "site\(position + 1)" : site.name
            guard names.insert(name).inserted else { throw .duplicateSiteName(name) }
            guard !site.pools.isEmpty || site.backendsSetAtRunTime else { throw .emptySite(site: name) }
            let patterns = site.pools.map { pool in (pool: pool, pattern: try? EllipsisPattern(pool)) }
            let expand = patterns.allSatisfy { $0.pattern?.hasRanges == true }
            var backends: [BackendEndpoint] = []
            var seen: Set<BackendEndpoint> = []
            var scheme: BackendEndpoint.Scheme?
            for (pool, pattern) in patterns {
                let urls: [String]
                if expand, let pattern {
                    urls = pattern.expanded()
                } else {
                    if EllipsisPattern.containsBrace(pool) {
                        let reason: String
                        do {
                            _ = try EllipsisPattern(pool)
                            reason = "ranges are expanded only when every pool of the site has one"
                        } catch {
                            reason = error.description
                        }
                        throw .invalidPool(site: name, pool: pool, reason: reason)
                    }
                    urls = [pool]
                }
                for url in urls {
                    switch BackendEndpoint.parse(url) {
                    case .failure(let failure):
                        let reason = urls.count > 1 ? "\(url): \(failure.reason)" : failure.reason
                        throw .invalidPool(site: name, pool: pool, reason: reason)
                    case .success(let endpoint):
                        if let scheme, scheme != endpoint.scheme { throw .mixedSchemes(site: name) }
                        scheme = endpoint.scheme
                        if seen.insert(endpoint).inserted { backends.append(endpoint) }
                    }
                }
            }
            resolved.append(ResolvedSite(name: name, backends: backends))
        }
        return resolved
    }

    /// Checks the settings other than sites; ``ProxyServer`` calls it with ``resolvedSites()``.
    public func validate() throws(ProxyConfigurationError) -> [ResolvedSite] {
        guard !listeners.isEmpty else { throw .noListeners }
        for listener in listeners where !(0...65_535).contains(listener.port) {
            throw .invalidListener(host: listener.host, port: listener.port, reason: "port out of range")
        }
        func positive(_ duration: Duration, _ field: String) throws(ProxyConfigurationError) {
            guard duration > .zero else { throw .invalidValue(field: field, reason: "must be positive") }
        }
        try positive(health.interval, "health.interval")
        try positive(health.timeout, "health.timeout")
        try positive(upstream.connectTimeout, "upstream.connect_timeout")
        try positive(upstream.idleTimeout, "upstream.idle_timeout")
        try positive(upstream.responseTimeout, "upstream.response_timeout")
        try positive(limits.headerReadTimeout, "limits.header_read_timeout")
        try positive(limits.idleTimeout, "limits.idle_timeout")
        guard health.path.hasPrefix("/") else { throw .invalidValue(field: "health.path", reason: "must start with /") }
        if let readPath = health.readPath, !readPath.hasPrefix("/") {
            throw .invalidValue(field: "health.read_path", reason: "must start with /")
        }
        guard (0...65_535).contains(health.port) else { throw .invalidValue(field: "health.port", reason: "out of range") }
        guard upstream.maxIdlePerBackend >= 0 else {
            throw .invalidValue(field: "upstream.max_idle_per_backend", reason: "must not be negative")
        }
        guard retry.attempts >= 0 else { throw .invalidValue(field: "retry.attempts", reason: "must not be negative") }
        guard limits.maxHeaderBytes >= 1024 else {
            throw .invalidValue(field: "limits.max_header_bytes", reason: "must be at least 1024")
        }
        guard limits.maxConnections > 0 else { throw .invalidValue(field: "limits.max_connections", reason: "must be positive") }
        if let first = sites.firstIndex(where: \.routedOnly), sites[first...].contains(where: { !$0.routedOnly }) {
            throw .invalidValue(field: "sites", reason: "the sites reached only by route must come after the others")
        }
        let resolved = try resolvedSites()
        _ = try HostRoutes(routes, defaultSite: defaultSite, sites: resolved.map(\.name))
        for listener in listeners {
            guard let virtualHosts = listener.virtualHosts else { continue }
            _ = try HostRoutes(virtualHosts.routes, defaultSite: virtualHosts.defaultSite, sites: resolved.map(\.name))
        }
        return resolved
    }
}
