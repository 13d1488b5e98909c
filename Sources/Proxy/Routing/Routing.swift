import Atomics
import NIOCore

/// The routing table in force: sites in failover order with their backends, and the settings
/// the data path reads per request. Immutable; ``ProxyServer/reconfigure(_:)`` swaps in a new
/// one, so a request keeps the table it started with.
final class Routing: Sendable {
    final class Site: Sendable {
        let name: String
        let backends: [Backend]
        /// Reached only through a route naming it, never by failover (``ProxyConfiguration/Site/routedOnly``).
        let routedOnly: Bool
        /// Advanced once per choice for `round_robin`.
        let turn = ManagedAtomic<UInt64>(0)

        init(name: String, backends: [Backend], routedOnly: Bool = false) {
            self.name = name
            self.backends = backends
            self.routedOnly = routedOnly
        }
    }

    let sites: [Site]
    /// How many of the first sites a request no route places takes in failover order: the sites reached only by
    /// route come after them.
    let failoverSites: Int
    let policy: BalancePolicy
    let retryAttempts: Int
    let upstream: UpstreamSettings
    /// Seconds a client is told to wait in `Retry-After` when no backend is online.
    let retryAfterSeconds: Int
    /// `nil` when tracing is off.
    let trace: TraceFilter?
    let limits: ConnectionLimits
    /// Whether `CONNECT` requests are forwarded (`allow_connect`); refused with 405 otherwise.
    let allowsConnect: Bool
    /// The response cache asked before routing, if one is installed (see ``ResponseCache``).
    let cache: (any ResponseCache)?
    /// Whether ``cache`` is set, read for every request without copying the existential.
    let hasCache: Bool
    /// The virtual hosts, when any are configured: a request goes to the site its `Host` names.
    let routes: HostRoutes?
    /// Whether ``routes`` is set, read for every request.
    let hasRoutes: Bool

    init(
        sites: [Site],
        policy: BalancePolicy,
        retryAttempts: Int,
        upstream: UpstreamSettings,
        retryAfterSeconds: Int,
        trace: TraceFilter?,
        limits: ConnectionLimits,
        allowsConnect: Bool = false,
        cache: (any ResponseCache)? = nil,
        routes: HostRoutes? = nil
    ) {
        self.sites = sites
        self.failoverSites = sites.firstIndex(where: \.routedOnly) ?? sites.count
        self.policy = policy
        self.retryAttempts = retryAttempts
        self.upstream = upstream
        self.retryAfterSeconds = retryAfterSeconds
        self.trace = trace
        self.limits = limits
        self.allowsConnect = allowsConnect
        self.cache = cache
        self.hasCache = cache != nil
        self.routes = routes
        self.hasRoutes = routes != nil
    }

    /// This table with the backends of the site at `index` replaced by `backends`, and with
    /// `upstream` in place of its own upstream settings when given; everything else is the same.
    func replacingBackends(ofSiteAt index: Int, with backends: [Backend], upstream: UpstreamSettings? = nil) -> Routing {
        var sites = self.sites
        sites[index] = Site(name: sites[index].name, backends: backends, routedOnly: sites[index].routedOnly)
        return copy(sites: sites, upstream: upstream ?? self.upstream, cache: cache)
    }

    /// This table with `cache` as its response cache; everything else is the same.
    func replacingCache(_ cache: (any ResponseCache)?) -> Routing {
        copy(sites: sites, upstream: upstream, cache: cache)
    }

    /// This table, sharing its sites and backends, with `virtualHosts` as its routes: the table of a listener with
    /// virtual hosts of its own. Routes to a site this table does not have are left out (a listener's routes of
    /// the configuration before, while the new one is being applied).
    func replacingRoutes(with virtualHosts: ProxyConfiguration.VirtualHosts) -> Routing {
        let names = sites.map(\.name)
        let routes = virtualHosts.routes.filter { names.contains($0.site) }
        let defaultSite = virtualHosts.defaultSite.flatMap { names.contains($0) ? $0 : nil }
        return copy(sites: sites, upstream: upstream, cache: cache, routes: (try? HostRoutes(routes, defaultSite: defaultSite, sites: names)) ?? HostRoutes.none)
    }

    private func copy(sites: [Site], upstream: UpstreamSettings, cache: (any ResponseCache)?, routes: HostRoutes?? = nil) -> Routing {
        Routing(
            sites: sites,
            policy: policy,
            retryAttempts: retryAttempts,
            upstream: upstream,
            retryAfterSeconds: retryAfterSeconds,
            trace: trace,
            limits: limits,
            allowsConnect: allowsConnect,
            cache: cache,
            routes: routes ?? self.routes
        )
    }

    /// Every backend of every site.
    var backends: [Backend] {
        sites.flatMap(\.backends)
    }

    /// Whether any site has a backend online: the answer of `/v1/health`.
    var hasOnlineBackend: Bool {
        sites.contains { $0.backends.contains(where: \.isOnline) }
    }

    /// Chooses a backend: the first site (in failover order) with an online backend not in
    /// `excluded`, then the balance policy within it; only the site at `site` when it is not
    /// negative (the site a virtual host names).
    ///
    /// `scratch` is the caller's reusable buffer, so choosing allocates nothing once warm.
    func choose<Generator: RandomNumberGenerator>(
        excluding excluded: [Backend],
        site only: Int = -1,
        scratch: inout ChoiceScratch,
        using generator: inout Generator
    ) -> Backend? {
        func isCandidate(_ backend: Backend) -> Bool {
            backend.isOnline && (excluded.isEmpty || !excluded.contains(where: { $0 === backend }))
        }
        let positions = only < 0 ? 0..<failoverSites : only..<(only + 1)
        for position in positions {
            let backends = sites[position].backends
            var firstCandidate = -1
            var candidateCount = 0
            for index in backends.indices where isCandidate(backends[index]) {
                if firstCandidate < 0 { firstCandidate = index }
                candidateCount += 1
            }
            guard candidateCount > 0 else { continue }
            if candidateCount == 1 { return backends[firstCandidate] }
            scratch.loads.removeAll(keepingCapacity: true)
            scratch.positions.removeAll(keepingCapacity: true)
            for (index, backend) in backends.enumerated() where isCandidate(backend) {
                scratch.positions.append(index)
                scratch.loads.append(policy == .p2cEWMA ? backend.load : BackendLoad(inFlight: backend.inFlight))
            }
            let turn = policy == .roundRobin ? sites[position].turn.loadThenWrappingIncrement(ordering: .relaxed) : 0
            guard let choice = policy.choose(from: scratch.loads, turn: turn, using: &generator) else { continue }
            return backends[scratch.positions[choice]]
        }
        return nil
    }
}
