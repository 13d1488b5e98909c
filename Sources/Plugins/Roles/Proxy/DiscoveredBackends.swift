import Membership
import Proxy
import Synchronization

/// The backends of the sites with `gossip://` pools: the site's URL pools plus, for each application it names, the
/// reachable members announcing it (``MembershipSnapshot/endpoints(of:)``).
///
/// It keeps what membership gave last, so that a reload builds the proxy's configuration with those backends still
/// in it: a reload keeps a discovered backend's health and connections as it keeps a configured one's.
final class DiscoveredBackends: Sendable {
    private struct State {
        var settings: ProxyRoleSettings
        /// The URLs each site's discovered pools give now, in member order.
        var discovered: [String: [String]] = [:]
    }

    private let state: Mutex<State>

    init(settings: ProxyRoleSettings) {
        state = Mutex(State(settings: settings))
    }

    var hasDiscoveredPools: Bool { state.withLock { !$0.settings.discoveredPools.isEmpty } }

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
            return Self.configuration(state)
        }
    }

    /// Takes a new membership state (none: no provider) and returns each site whose backends changed, with all its
    /// backends' URLs.
    func update(from snapshot: MembershipSnapshot?) -> [(site: String, urls: [String])] {
        state.withLock { state in
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
    }

    private static func configuration(_ state: State) -> ProxyConfiguration {
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
