import Membership
import Proxy
import Synchronization

/// The backends of the sites with `gossip://` pools: the site's URL pools plus, for each application it names, the
/// reachable members announcing it (``MembershipSnapshot/endpoints(of:)``); with `discover: true`, the sites and
/// listeners of the announced applications themselves (``DiscoveredRoutes``).
///
/// It keeps what membership gave last, so that a reload builds the proxy's configuration with those backends still
/// in it: a reload keeps a discovered backend's health and connections as it keeps a configured one's.
final class DiscoveredBackends: Sendable {
    private struct State {
        var settings: ProxyRoleSettings
        /// The URLs each site's discovered pools give now, in member order.
        var discovered: [String: [String]] = [:]
        /// The announced applications last seen, for planning again when the settings change.
        var applications: [RoutedApplication] = []
        /// The listen ports that could not be opened, with the reason, until the next membership change.
        var unavailable: [Int: String] = [:]
        /// The sites and listeners of `discover: true` in force; empty without it.
        var routes = DiscoveredRoutes()
    }

    /// What a membership change asks of the proxy.
    struct Update {
        /// The whole configuration to apply, when the discovered sites, listeners or routes changed.
        var configuration: ProxyConfiguration?
        /// Otherwise each site whose backends changed, with all its backends' URLs.
        var backends: [(site: String, urls: [String])] = []
        /// The discovered ports opened and closed by `configuration`.
        var opened: [Int] = []
        var closed: [Int] = []
        /// What discovery newly leaves out, to log once.
        var ignored: [DiscoveredRoutes.Ignored] = []
    }

    private let state: Mutex<State>

    init(settings: ProxyRoleSettings) {
        state = Mutex(State(settings: settings))
    }

    var followsMembership: Bool { state.withLock { $0.settings.followsMembership } }

    /// The settings in force.
    var settings: ProxyRoleSettings { state.withLock { $0.settings } }

    /// Whether `discover: true` is set.
    var discovers: Bool { state.withLock { $0.settings.discovery != nil } }

    /// The sites and listeners of `discover: true` in force.
    var routes: DiscoveredRoutes { state.withLock { $0.routes } }

    /// The proxy's configuration with every discovered backend in its site.
    func configuration() -> ProxyConfiguration {
        state.withLock { Self.configuration($0) }
    }

    /// Takes new settings; returns the configuration to apply, with the discovered backends of the sites that still
    /// name their applications.
    func replaceSettings(with settings: ProxyRoleSettings) -> ProxyConfiguration {
        state.withLock { state in
            state.settings = settings
            let sites = Set(settings.discoveredPools.map(\.site))
            state.discovered = state.discovered.filter { sites.contains($0.key) }
            state.routes = Self.plan(state)
            return Self.configuration(state)
        }
    }

    /// Notes that `port` cannot be opened (until the next membership change) and returns the configuration without
    /// it; nil when the port is not one discovery opens, or is already noted.
    func markUnavailable(_ port: Int, reason: String) -> Update? {
        state.withLock { state in
            guard state.routes.listeners.contains(where: { $0.port == port }), state.unavailable[port] == nil else { return nil }
            state.unavailable[port] = reason
            let previous = state.routes
            state.routes = Self.plan(state)
            return Self.structural(from: previous, state)
        }
    }

    /// Forgets the routes of `discover: true` after the proxy failed to take them, so that the next membership state
    /// applies its routes whole again.
    func routesFailed() {
        state.withLock { $0.routes = DiscoveredRoutes() }
    }

    /// Fills the `gossip://` pools from `snapshot` before the proxy starts. The routes of `discover: true` wait for
    /// the first membership state the running role follows, so that a port that cannot be opened is left out
    /// (``markUnavailable(_:reason:)``) rather than failing the start.
    func fillPools(from snapshot: MembershipSnapshot) {
        state.withLock { state in _ = Self.updatePools(from: snapshot, &state) }
    }

    /// Takes a new membership state (none: no provider) and returns what changed.
    func update(from snapshot: MembershipSnapshot?) -> Update {
        state.withLock { state in
            let changed = Self.updatePools(from: snapshot, &state)
            guard state.settings.discovery != nil else { return Update(backends: changed) }
            state.applications = snapshot?.routedApplications ?? []
            state.unavailable = [:]
            let previous = state.routes
            state.routes = Self.plan(state)
            guard state.routes.hasShape(of: previous) else { return Self.structural(from: previous, state) }
            var update = Update(backends: changed)
            for site in state.routes.sites where !previous.sites.contains(site) {
                update.backends.append((site.name, site.urls))
            }
            update.ignored = state.routes.ignored.filter { !previous.ignored.contains($0) }
            return update
        }
    }

    private static func structural(from previous: DiscoveredRoutes, _ state: State) -> Update {
        let before = Set(previous.listeners.map(\.port))
        let after = Set(state.routes.listeners.map(\.port))
        return Update(
            configuration: configuration(state),
            opened: after.subtracting(before).sorted(),
            closed: before.subtracting(after).sorted(),
            ignored: state.routes.ignored.filter { !previous.ignored.contains($0) }
        )
    }

    private static func plan(_ state: State) -> DiscoveredRoutes {
        guard let discovery = state.settings.discovery else { return DiscoveredRoutes() }
        return DiscoveredRoutes.plan(state.applications, ports: discovery.ports, unavailable: state.unavailable)
    }

    private static func updatePools(from snapshot: MembershipSnapshot?, _ state: inout State) -> [(site: String, urls: [String])] {
        var changed: [(site: String, urls: [String])] = []
        let fixed = Self.fixedURLs(state.settings.proxy)
        for site in Set(state.settings.discoveredPools.map(\.site)).sorted() {
            let applications = state.settings.discoveredPools.filter { $0.site == site }.map(\.application.value)
            var urls: [String] = []
            if let snapshot {
                let scheme = fixed[site]?.first.flatMap(Self.scheme(of:))
                for application in applications {
                    for endpoint in snapshot.endpoints(of: application) {
                        guard let url = endpoint.url, !urls.contains(url) else { continue }
                        // One site, one scheme: the first pool's, or the first discovered backend's.
                        if let wanted = scheme ?? urls.first.flatMap(Self.scheme(of:)), Self.scheme(of: url) != wanted { continue }
                        urls.append(url)
                    }
                }
            }
            if state.discovered[site, default: []] != urls {
                state.discovered[site] = urls
                changed.append((site, (fixed[site] ?? []) + urls.filter { !(fixed[site] ?? []).contains($0) }))
            }
        }
        return changed
    }

    private static func configuration(_ state: State) -> ProxyConfiguration {
        var configuration = poolConfiguration(state)
        if let discovery = state.settings.discovery {
            var hosts: [String] = []
            for listener in state.settings.proxy.listeners where !hosts.contains(listener.host) { hosts.append(listener.host) }
            configuration = state.routes.applied(to: configuration, hosts: hosts, tls: discovery.tls, defaultSite: discovery.defaultSite)
        }
        return configuration
    }

    private static func poolConfiguration(_ state: State) -> ProxyConfiguration {
        var configuration = state.settings.proxy
        guard !state.discovered.isEmpty else { return configuration }
        let fixed = fixedURLs(configuration)
        for index in configuration.sites.indices {
            let name = configuration.sites[index].name.isEmpty ? "site\(index + 1)" : configuration.sites[index].name
            guard let discovered = state.discovered[name], !discovered.isEmpty else { continue }
            let own = fixed[name] ?? []
            configuration.sites[index].pools = own + discovered.filter { !own.contains($0) }
        }
        return configuration
    }

    /// Each site's configured backends as literal URLs (ranges expanded).
    private static func fixedURLs(_ configuration: ProxyConfiguration) -> [String: [String]] {
        let sites = (try? configuration.resolvedSites()) ?? []
        return Dictionary(sites.map { ($0.name, $0.backends.map(\.description)) }, uniquingKeysWith: { first, _ in first })
    }

    private static func scheme(of url: String) -> Substring? {
        url.firstRange(of: "://").map { url[..<$0.lowerBound] }
    }
}
