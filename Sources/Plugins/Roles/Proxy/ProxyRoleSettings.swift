import Plugins
import Proxy

/// The proxy role's settings: the proxy's configuration, and the pools of its sites that membership fills.
public struct ProxyRoleSettings: Sendable, Equatable {
    /// A pool named `gossip://APPLICATION`: the reachable members announcing the application, at their advertised
    /// address and the application's port, updated live from the membership's changes.
    public struct DiscoveredPool: Sendable, Equatable {
        /// The site's resolved name (`siteN` for a site without one).
        public var site: String
        public var application: Located<String>

        public init(site: String, application: Located<String>) {
            self.site = site
            self.application = application
        }
    }

    /// The configuration with only the pools given as URLs; a site whose pools are all discovered has none and
    /// ``ProxyConfiguration/Site/backendsSetAtRunTime`` set.
    public var proxy: ProxyConfiguration
    public var discoveredPools: [DiscoveredPool]

    public init(proxy: ProxyConfiguration, discoveredPools: [DiscoveredPool] = []) {
        self.proxy = proxy
        self.discoveredPools = discoveredPools
    }

    /// The pool scheme that names an application.
    static let discoveredScheme = "gossip://"
}
