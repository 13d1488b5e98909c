import Membership
import Proxy

/// The virtual hosts of `discover: true`: from the applications members announce, one site per application and one
/// listener per allowed listen port routing each application's domains to its site, as scrimplb's generated nginx
/// configuration has one `server` per application and listen port with its `server_name`s.
///
/// A pure value: the applications (``MembershipSnapshot/routedApplications``, members' announcements merged) and the
/// role's settings in, sites, listeners and what was left out (with the reason) out.
struct DiscoveredRoutes: Sendable, Equatable {
    /// An announced application served by the proxy.
    struct Site: Sendable, Equatable {
        var application: String
        /// The site's name in the proxy: `gossip://APPLICATION`, which no configured site may take.
        var name: String
        /// The backends: the members serving it, as `http(s)://address:application_port`.
        var urls: [String]
    }

    /// A port opened for announced applications, with the domains routed on it.
    struct Listener: Sendable, Equatable {
        var port: Int
        var routes: [ProxyConfiguration.Route]
    }

    /// An application, or one of its ports or domains, that discovery does not serve.
    struct Ignored: Sendable, Hashable, Comparable {
        var application: String
        var reason: String

        static func < (lhs: Ignored, rhs: Ignored) -> Bool {
            (lhs.application, lhs.reason) < (rhs.application, rhs.reason)
        }
    }

    /// In application name order.
    var sites: [Site] = []
    /// In port order.
    var listeners: [Listener] = []
    /// In application name order.
    var ignored: [Ignored] = []

    /// Whether the sites, the listeners and their routes are those of `other`: when they are, only backends changed,
    /// and those are replaced without a new configuration.
    func hasShape(of other: DiscoveredRoutes) -> Bool {
        sites.map(\.name) == other.sites.map(\.name) && listeners == other.listeners
    }

    /// The site name an application's site takes.
    static func siteName(of application: String) -> String {
        ProxyRoleSettings.discoveredScheme + application
    }

    /// Plans the sites and listeners for `applications`.
    ///
    /// - `tcp` applications are not served: the proxy speaks HTTP, and a TCP port has no `Host` to share it by (the
    ///   nginx and HAProxy generators serve them). `https` applications are: the proxy connects to their backends
    ///   over TLS, with `roles.proxy.upstream.tls`.
    /// - A listen port outside `ports` (`discover_ports`), or in `unavailable` (a port that could not be bound, with
    ///   the reason), is left out for that application; an application left with no port is not served.
    /// - On one port, a domain belongs to the first application by name that announces it; another announcing it
    ///   there is not routed by it (nginx warns of a "conflicting server name" and keeps the first too).
    /// - Backends are the members announcing the application with its protocol (members may disagree while a
    ///   change rolls out; the application's protocol is the first member's by name).
    static func plan(_ applications: [RoutedApplication], ports: [Int], unavailable: [Int: String] = [:]) -> DiscoveredRoutes {
        var plan = DiscoveredRoutes()
        var routes: [Int: [ProxyConfiguration.Route]] = [:]
        var owners: [Int: [String: String]] = [:]
        for application in applications.sorted(by: { $0.name < $1.name }) {
            guard application.transport != .tcp else {
                plan.ignored.append(.init(application: application.name, reason: "a tcp application: the proxy routes HTTP by Host, not TCP ports"))
                continue
            }
            let site = siteName(of: application.name)
            var served = false
            for port in application.listenPorts {
                guard ports.contains(port) else {
                    plan.ignored.append(.init(application: application.name, reason: "listen_port \(port) is not in discover_ports"))
                    continue
                }
                if let reason = unavailable[port] {
                    plan.ignored.append(.init(application: application.name, reason: "listen_port \(port) cannot be opened: \(reason)"))
                    continue
                }
                var hosts: [String] = []
                for domain in application.domains {
                    let key = domain.lowercased()
                    if let owner = owners[port, default: [:]][key] {
                        if owner != application.name {
                            plan.ignored.append(.init(application: application.name, reason: "domain \(domain) on port \(port) is routed to \(owner)"))
                        }
                        continue
                    }
                    owners[port, default: [:]][key] = application.name
                    hosts.append(domain)
                }
                guard !hosts.isEmpty else { continue }
                routes[port, default: []].append(.init(hosts: hosts, site: site))
                served = true
            }
            guard served else { continue }
            let urls = application.endpoints.filter { $0.transport == application.transport }.compactMap(\.url)
            plan.sites.append(Site(application: application.name, name: site, urls: urls))
        }
        plan.listeners = routes.keys.sorted().map { Listener(port: $0, routes: routes[$0] ?? []) }
        return plan
    }

    /// `configuration` with these sites after its own (reached only through these listeners' routes) and, for each
    /// host the configured listeners bind, one listener per port.
    ///
    /// - Parameters:
    ///   - hosts: the addresses to open the ports on (the hosts of `roles.proxy.listen`).
    ///   - tls: `discover_tls`, when the opened ports terminate TLS.
    ///   - defaultSite: `discover_default_site`, the configured site of a `Host` no application announces.
    func applied(
        to configuration: ProxyConfiguration,
        hosts: [String],
        tls: ProxyConfiguration.ServerTLS?,
        defaultSite: String?
    ) -> ProxyConfiguration {
        var configuration = configuration
        for site in sites {
            configuration.sites.append(.init(name: site.name, pools: site.urls, backendsSetAtRunTime: true, routedOnly: true))
        }
        for listener in listeners {
            for host in hosts {
                configuration.listeners.append(
                    .init(host: host, port: listener.port, tls: tls, virtualHosts: .init(routes: listener.routes, defaultSite: defaultSite))
                )
            }
        }
        return configuration
    }
}
