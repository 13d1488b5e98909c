import Membership
import Proxy
import Testing

@testable import Plugins
@testable import ProxyRole

/// `discover: true`'s plan: announced applications and the allowed ports in, sites and listeners with routes out.
@Suite struct DiscoveredRoutesTests {
    func application(
        _ name: String,
        ports: [Int] = [443],
        transport: Application.TransportProtocol = .http,
        domains: [String],
        backends: [(String, Int)] = [("10.0.0.1", 8080)]
    ) -> RoutedApplication {
        RoutedApplication(
            name: name,
            transport: transport,
            listenPorts: ports,
            domains: domains,
            endpoints: backends.enumerated().map { ApplicationEndpoint(member: "m\($0.offset)", host: $0.element.0, port: $0.element.1, transport: transport) }
        )
    }

    @Test func eachApplicationIsASiteRoutedByItsDomainsOnItsPorts() {
        let plan = DiscoveredRoutes.plan([
            application("web", ports: [443, 8443], domains: ["example.com", "www.example.com"], backends: [("10.0.0.1", 8080), ("10.0.0.2", 8080)]),
            application("api", ports: [8443], transport: .https, domains: ["*.api.example.com"], backends: [("10.0.0.3", 9000)]),
        ], ports: [443, 8443])
        #expect(plan.sites == [
            .init(application: "api", name: "gossip://api", urls: ["https://10.0.0.3:9000"]),
            .init(application: "web", name: "gossip://web", urls: ["http://10.0.0.1:8080", "http://10.0.0.2:8080"]),
        ])
        #expect(plan.listeners == [
            .init(port: 443, routes: [.init(hosts: ["example.com", "www.example.com"], site: "gossip://web")]),
            .init(port: 8443, routes: [.init(hosts: ["*.api.example.com"], site: "gossip://api"), .init(hosts: ["example.com", "www.example.com"], site: "gossip://web")]),
        ])
        #expect(plan.ignored.isEmpty)
    }

    @Test func portsNotAllowedTCPAndUnavailablePortsAreLeftOutWithTheReason() {
        let plan = DiscoveredRoutes.plan([
            application("web", ports: [443, 9000], domains: ["example.com"]),
            application("db", ports: [5432], transport: .tcp, domains: ["db.example.com"]),
            application("admin", ports: [9000], domains: ["admin.example.com"]),
            application("blog", ports: [8443], domains: ["blog.example.com"]),
        ], ports: [443, 8443], unavailable: [8443: "Address already in use"])
        #expect(plan.sites.map(\.application) == ["web"])
        #expect(plan.listeners.map(\.port) == [443])
        #expect(Set(plan.ignored) == [
            .init(application: "web", reason: "listen_port 9000 is not in discover_ports"),
            .init(application: "db", reason: "a tcp application: the proxy routes HTTP by Host, not TCP ports"),
            .init(application: "admin", reason: "listen_port 9000 is not in discover_ports"),
            .init(application: "blog", reason: "listen_port 8443 cannot be opened: Address already in use"),
        ])
    }

    @Test func aDomainOnOnePortBelongsToTheFirstApplicationByName() {
        let plan = DiscoveredRoutes.plan([
            application("web", domains: ["Example.com", "www.example.com"]),
            application("canary", domains: ["example.com"]),
            application("api", ports: [8443], domains: ["example.com"]),
        ], ports: [443, 8443])
        // canary comes first by name and takes example.com on 443; web keeps its other domain.
        #expect(plan.listeners == [
            .init(port: 443, routes: [.init(hosts: ["example.com"], site: "gossip://canary"), .init(hosts: ["www.example.com"], site: "gossip://web")]),
            .init(port: 8443, routes: [.init(hosts: ["example.com"], site: "gossip://api")]),
        ])
        #expect(plan.ignored == [.init(application: "web", reason: "domain Example.com on port 443 is routed to canary")])
        // An application all of whose domains are taken is no site at all.
        let shadowed = DiscoveredRoutes.plan([application("a", domains: ["x.com"]), application("b", domains: ["x.com"])], ports: [443])
        #expect(shadowed.sites.map(\.application) == ["a"])
    }

    @Test func backendsOfAnotherProtocolThanTheApplicationsAreLeftOut() {
        var web = application("web", domains: ["example.com"], backends: [("10.0.0.1", 8080)])
        web.endpoints.append(ApplicationEndpoint(member: "late", host: "10.0.0.9", port: 8443, transport: .https))
        #expect(DiscoveredRoutes.plan([web], ports: [443]).sites.first?.urls == ["http://10.0.0.1:8080"])
    }

    @Test func onlyANewSiteListenerOrRouteChangesTheShape() {
        let one = DiscoveredRoutes.plan([application("web", domains: ["example.com"])], ports: [443])
        let moreBackends = DiscoveredRoutes.plan([application("web", domains: ["example.com"], backends: [("10.0.0.1", 8080), ("10.0.0.2", 8080)])], ports: [443])
        let moreDomains = DiscoveredRoutes.plan([application("web", domains: ["example.com", "b.com"])], ports: [443])
        #expect(one.hasShape(of: moreBackends))
        #expect(!one.hasShape(of: moreDomains))
        #expect(!one.hasShape(of: DiscoveredRoutes()))
    }

    @Test func theConfigurationGetsTheSitesAfterItsOwnAndAListenerPerHostAndPort() throws {
        let plan = DiscoveredRoutes.plan([application("web", ports: [443, 8443], domains: ["example.com"])], ports: [443, 8443])
        var base = ProxyConfiguration(listeners: [.init(host: "127.0.0.1", port: 8080), .init(host: "::1", port: 8080)], sites: [.init(name: "fallback", pools: ["http://10.0.0.5:80"])])
        base.sitesAddedAtRunTime = true
        let configuration = plan.applied(to: base, hosts: ["127.0.0.1", "::1"], tls: nil, defaultSite: "fallback")
        #expect(configuration.sites.map(\.name) == ["fallback", "gossip://web"])
        #expect(configuration.sites.map(\.routedOnly) == [false, true])
        #expect(configuration.listeners.map { "\($0.host):\($0.port)" } == ["127.0.0.1:8080", "::1:8080", "127.0.0.1:443", "::1:443", "127.0.0.1:8443", "::1:8443"])
        #expect(configuration.listeners[2].virtualHosts == .init(routes: [.init(hosts: ["example.com"], site: "gossip://web")], defaultSite: "fallback"))
        #expect(configuration.listeners[0].virtualHosts == nil)
        _ = try configuration.validate()
    }
}

/// `discover`, `discover_ports`, `discover_default_site` and `discover_tls` in `roles.proxy`.
@Suite struct DiscoverSectionTests {
    let catalog = RoleCatalog([AnyRolePlugin(ProxyRolePlugin()), AnyRolePlugin(MembershipOffering())])

    func parse(_ yaml: String, catalog: RoleCatalog? = nil) throws -> ProxyRoleSettings {
        let configuration = try OutriderConfiguration.parse("roles:\n  gossip: {}\n" + yaml, path: "p.yaml", catalog: catalog ?? self.catalog, environment: [:])
        return try #require(configuration.roles.first { $0.name == "proxy" }?.settings.value as? ProxyRoleSettings)
    }

    func problems(_ yaml: String, catalog: RoleCatalog? = nil, gossip: Bool = true) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n" + (gossip ? "  gossip: {}\n" : "") + yaml, path: "p.yaml", catalog: catalog ?? self.catalog, environment: [:])
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func discoverNeedsNoSitesOfItsOwn() throws {
        let settings = try parse("""
              proxy:
                listen: ["127.0.0.1:8080"]
                discover: true
                discover_ports: [443, 8443]
                discover_tls: {cert: /etc/lb/chain.pem, key: /etc/lb/key.pem}
            """)
        let discovery = try #require(settings.discovery)
        #expect(discovery.ports == [443, 8443])
        #expect(discovery.tls == .init(certificatePath: "/etc/lb/chain.pem", keyPath: "/etc/lb/key.pem"))
        #expect(discovery.defaultSite == nil)
        #expect("\(discovery.location.line):\(discovery.location.column)" == "5:15")
        #expect(settings.proxy.sites.isEmpty)
        #expect(ProxyRolePlugin().uses(for: settings) == [.optional(.responseCache), .required(.membership, by: discovery.location)])
        #expect(ProxyRolePlugin().summary(of: settings).contains("discover on 443, 8443"))
    }

    @Test func theDefaultSiteIsAConfiguredOne() throws {
        let settings = try parse("""
              proxy:
                sites: [{name: fallback, pools: ["http://127.0.0.1:1"]}]
                discover: true
                discover_ports: [8443]
                discover_default_site: fallback
            """)
        #expect(settings.discovery?.defaultSite == "fallback")
        #expect(problems("""
              proxy:
                sites: [{name: fallback, pools: ["http://127.0.0.1:1"]}]
                discover: true
                discover_ports: [8443]
                discover_default_site: nope
            """) == ["7:28: roles.proxy.discover_default_site: no site is named nope"])
    }

    @Test func badDiscoverySettingsAreReportedWhereTheyAre() {
        #expect(problems("""
              proxy:
                discover: true
            """) == ["4:15: roles.proxy.discover: true needs discover_ports, the listen ports announced applications may open (such as [443, 8443])"])
        #expect(problems("""
              proxy:
                discover: true
                discover_ports: []
            """) == ["5:21: roles.proxy.discover_ports needs at least one port"])
        #expect(problems("""
              proxy:
                listen: [":8443"]
                discover: true
                discover_ports: [0, 70000, 80, 443, 443, 8443]
            """) == [
                "6:21: roles.proxy.discover_ports: 0 is not a port (1-65535)",
                "6:21: roles.proxy.discover_ports: 70000 is not a port (1-65535)",
                "6:21: roles.proxy.discover_ports: 80 is refused: applications may not announce listen_port 80, which load balancers keep for their redirect to HTTPS",
                "6:21: roles.proxy.discover_ports: 443 is listed twice",
                "6:21: roles.proxy.discover_ports: 8443 is also in roles.proxy.listen; a port is either configured or opened for announced applications",
            ])
        #expect(problems("""
              proxy:
                sites: [{name: web, pools: ["http://127.0.0.1:1"]}]
                discover_ports: [443]
                discover_default_site: web
            """) == [
                "5:21: roles.proxy.discover_ports needs discover: true",
                "6:28: roles.proxy.discover_default_site needs discover: true",
            ])
        #expect(problems("""
              proxy:
                sites: [{name: "gossip://web", pools: ["http://127.0.0.1:1"]}]
                discover: true
                discover_ports: [443]
            """) == ["4:12: roles.proxy.sites: the name gossip://web is kept for the site of an announced application"])
        #expect(problems("""
              proxy:
                discover: false
            """) == ["4:5: roles.proxy is missing required key 'sites'"])
    }

    @Test func withoutGossipDiscoverIsAConfigurationError() {
        let proxyOnly = RoleCatalog([AnyRolePlugin(ProxyRolePlugin())])
        #expect(problems("""
              proxy:
                discover: true
                discover_ports: [443]
            """, catalog: proxyOnly, gossip: false) == [
                "3:15: roles.proxy needs the membership capability, which no enabled role offers (no role in this build offers it)"
            ])
    }
}
