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

    /// `discover: true`: sites and listeners from the applications members announce (``DiscoveredRoutes``).
    public struct Discovery: Sendable, Equatable {
        /// `discover_ports`: the listen ports announced applications may open.
        public var ports: [Int]
        /// `discover_default_site`: the configured site of a `Host` no application on the port announces; `nil`: 404.
        public var defaultSite: String?
        /// `discover_tls`: the certificate the opened ports terminate TLS with; `nil`: plain HTTP.
        public var tls: ProxyConfiguration.ServerTLS?
        /// Where `discover` is set, for the membership it requires.
        public var location: SourceLocation

        public init(ports: [Int], defaultSite: String? = nil, tls: ProxyConfiguration.ServerTLS? = nil, location: SourceLocation) {
            self.ports = ports
            self.defaultSite = defaultSite
            self.tls = tls
            self.location = location
        }

        public static func == (lhs: Discovery, rhs: Discovery) -> Bool {
            lhs.ports == rhs.ports && lhs.defaultSite == rhs.defaultSite && lhs.tls == rhs.tls
        }
    }

    /// The configuration with only the pools given as URLs; a site whose pools are all discovered has none and
    /// ``ProxyConfiguration/Site/backendsSetAtRunTime`` set.
    public var proxy: ProxyConfiguration
    public var discoveredPools: [DiscoveredPool]
    public var discovery: Discovery?

    public init(proxy: ProxyConfiguration, discoveredPools: [DiscoveredPool] = [], discovery: Discovery? = nil) {
        self.proxy = proxy
        self.discoveredPools = discoveredPools
        self.discovery = discovery
    }

    /// Whether anything follows membership: a `gossip://` pool, or `discover: true`.
    var followsMembership: Bool { !discoveredPools.isEmpty || discovery != nil }

    /// The pool scheme that names an application.
    static let discoveredScheme = "gossip://"
}
