import CoreMetrics
import Logging
import Membership
import NIOCore
import NIOPosix
import Proxy
import Testing
import TestSupport

@testable import Plugins
@testable import ProxyRole

/// `gossip://APP` pools: the proxy's backends follow the members announcing the application, with no reload.
@Suite struct DiscoveredPoolTests {
    let group = MultiThreadedEventLoopGroup.singleton
    /// The proxy, and a role that offers membership so that configurations with `gossip://` pools are valid.
    let catalog = RoleCatalog([AnyRolePlugin(ProxyRolePlugin()), AnyRolePlugin(MembershipOffering())])

    func settings(_ yaml: String) throws -> ProxyRoleSettings {
        let configuration = try OutriderConfiguration.parse("roles:\n  gossip: {}\n" + yaml, path: "p.yaml", catalog: catalog, environment: [:])
        return try #require(configuration.roles.first { $0.name == "proxy" }?.settings.value as? ProxyRoleSettings)
    }

    func problems(_ yaml: String) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n  gossip: {}\n" + yaml, path: "p.yaml", catalog: catalog, environment: [:])
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func aPoolMayNameAnApplicationBesideURLPools() throws {
        let settings = try settings("""
              proxy:
                sites:
                  - name: web
                    pools: ["http://10.0.0.9:8080", "gossip://web", "gossip://web-canary"]
                  - pools: gossip://api
            """)
        #expect(settings.proxy.sites.map(\.pools) == [["http://10.0.0.9:8080"], []])
        #expect(settings.proxy.sites.map(\.backendsSetAtRunTime) == [true, true])
        #expect(settings.discoveredPools.map { "\($0.site)=\($0.application.value)@\($0.application.location.line):\($0.application.location.column)" }
            == ["web=web@6:41", "web=web-canary@6:57", "site2=api@7:16"])
        #expect(ProxyRolePlugin().uses(for: settings) == [.optional(.responseCache), .required(.membership, by: settings.discoveredPools[0].application.location)])
        #expect(ProxyRolePlugin().summary(of: settings).contains("web: 1 backend + gossip://web + gossip://web-canary"))
    }

    @Test func aBadApplicationNameIsReportedWhereItIs() {
        #expect(problems("""
              proxy:
                sites:
                  - pools: ["gossip://", "gossip://a b", "gossip://x", "gossip://x"]
            """) == [
            "5:17: roles.proxy.sites[0].pools: gossip://: the application's name must not be empty",
            "5:30: roles.proxy.sites[0].pools: gossip://a b: the application's name 'a b' may hold only letters, digits, '.', '_' and '-', not ' '",
            "5:60: roles.proxy.sites[0].pools: gossip://x is named twice",
        ])
    }

    @Test func withoutGossipAGossipPoolIsAConfigurationError() throws {
        let proxyOnly = RoleCatalog([AnyRolePlugin(ProxyRolePlugin())])
        #expect(throws: (any Error).self) { try OutriderConfiguration.parse("roles:\n  proxy: {sites: [{pools: [gossip://web]}]}\n", path: "p.yaml", catalog: proxyOnly, environment: [:]) }
        #expect(problems("""
              proxy:
                sites:
                  - pools: ["gossip://web"]
            """).isEmpty, "a role offering membership is enabled")
        do {
            _ = try OutriderConfiguration.parse("roles:\n  proxy:\n    sites: [{pools: [gossip://web]}]\n", path: "p.yaml", catalog: proxyOnly, environment: [:])
        } catch {
            #expect(error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
                == ["3:22: roles.proxy needs the membership capability, which no enabled role offers (no role in this build offers it)"])
        }
    }

    func member(_ name: String, _ backend: NamedBackend, status: Member.Status = .alive, application: String = "web") -> Member {
        let announced = Application(name: application, listenPort: 443, applicationPort: backend.port, transport: .http, domains: ["example.com"])
        return Member(name: name, host: "127.0.0.1", port: 7946, status: status, tags: [ApplicationTag.key: ApplicationTag.encode([announced])])
    }

    /// Which backends answer `count` requests through the proxy.
    func names(through port: Int, count: Int = 12) async throws -> Set<String> {
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        return try await channel.executeThenClose { inbound, outbound in
            var seen: Set<String> = []
            var iterator = inbound.makeAsyncIterator()
            var received = ""
            for _ in 0..<count {
                try await outbound.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"))
                while true {
                    if let range = received.range(of: "\r\n\r\n"),
                       let length = received[..<range.lowerBound].split(separator: "\r\n")
                           .first(where: { $0.lowercased().hasPrefix("content-length:") })
                           .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
                       received[range.upperBound...].utf8.count >= length {
                        let status = received.prefix(12)
                        let body = String(received[range.upperBound...].prefix(length))
                        seen.insert(status.hasSuffix("200") ? body : String(status.suffix(3)))
                        received = String(received[range.upperBound...].dropFirst(length))
                        break
                    }
                    guard let chunk = try await iterator.next() else { return seen }
                    received += String(buffer: chunk)
                }
            }
            return seen
        }
    }

    /// Polls until the proxy's answers are exactly `expected` (the health checks decide when a new backend takes
    /// traffic), or fails after a generous bound.
    func expectAnswers(_ expected: Set<String>, through port: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        var last: Set<String> = []
        for _ in 0..<200 {
            last = try await names(through: port)
            if last == expected { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("answers \(last.sorted()), expected \(expected.sorted())", sourceLocation: sourceLocation)
    }

    /// A proxy role's context on node `lb` with `capabilities` offered to it.
    static func context(group: any EventLoopGroup, capabilities: Capabilities) -> RoleContext {
        RoleContext(
            eventLoopGroup: group,
            metrics: NOOPMetricsHandler.instance,
            logger: Logger(label: "test"),
            node: NodeIdentity(name: "lb", version: "0"),
            admin: AdminRouteTable().routes(for: "proxy"),
            capabilities: capabilities,
            shutdownGrace: .seconds(1)
        )
    }

    /// The proxy role started with `settings`, beside a gossip role offering `membership`, and its listener's port.
    func start(_ settings: ProxyRoleSettings, beside membership: LiveMembership) async throws -> (any Role<ProxyRoleSettings>, Int) {
        var capabilities = Capabilities()
        capabilities.offers["membership"] = .init(capability: AnyCapability(.membership), provider: "gossip", generation: 1, value: membership as any MembershipView)
        let role = try await ProxyRolePlugin().makeRole(settings: settings, context: Self.context(group: group, capabilities: capabilities))
        try await role.start()
        return (role, try #require((role as? ProxyRole)?.server.localAddresses.first?.port))
    }

    @Test func backendsFollowTheMembersAnnouncingTheApplication() async throws {
        let first = try await NamedBackend(name: "b1", group: group)
        let second = try await NamedBackend(name: "b2", group: group)
        let other = try await NamedBackend(name: "other", group: group)
        let membership = LiveMembership(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))

        var settings = try settings("""
              proxy:
                listen: ["127.0.0.1:0"]
                health: {interval: 20ms, timeout: 500ms}
                sites:
                  - name: web
                    pools: ["gossip://web"]
            """)
        settings.proxy.health.interval = .milliseconds(20)
        let (role, port) = try await start(settings, beside: membership)

        try await expectAnswers(["502"], through: port)
        membership.apply(.joined(member("b1", first)))
        try await expectAnswers(["b1"], through: port)
        // Another application's member and a member whose tag does not decode take no traffic.
        membership.apply([.joined(member("b2", second)), .joined(member("x", other, application: "api")),
                          .joined(Member(name: "y", host: "127.0.0.1", port: 1, status: .alive, tags: [ApplicationTag.key: "garbage"]))])
        try await expectAnswers(["b1", "b2"], through: port)
        // A failed member is removed at once: no request reaches it afterwards, the other's health is untouched.
        membership.apply(.updated(member("b1", first, status: .dead)))
        try await expectAnswers(["b2"], through: port)
        #expect(try await names(through: port, count: 30) == ["b2"])

        // A reload keeps the discovered backend (its health too: no 502 in between).
        var reloaded = settings
        reloaded.proxy.retry.attempts = 1
        _ = try await role.reconfigure(to: reloaded)
        #expect(try await names(through: port, count: 30) == ["b2"])

        // The provider goes away: the pool empties.
        await role.capabilitiesChanged(Capabilities())
        try await expectAnswers(["502"], through: port)

        await role.shutdown(grace: .seconds(1))
        try await role.run()
        for backend in [first, second, other] { try await backend.stop() }
    }
}

extension DiscoveredPoolTests {
    /// A proxy started with URL pools only, beside a gossip role, follows the membership once a reload adds a
    /// `gossip://` pool.
    @Test func aReloadThatAddsAGossipPoolFollowsTheMembership() async throws {
        let fixed = try await NamedBackend(name: "fixed", group: group)
        let announced = try await NamedBackend(name: "announced", group: group)
        let membership = LiveMembership(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))
        membership.apply(.joined(member("b1", announced)))
        var settings = try settings("""
              proxy:
                listen: ["127.0.0.1:0"]
                sites:
                  - name: web
                    pools: ["http://127.0.0.1:\(fixed.port)"]
            """)
        settings.proxy.health.interval = .milliseconds(20)
        let (role, port) = try await start(settings, beside: membership)
        try await expectAnswers(["fixed"], through: port)

        var reloaded = try self.settings("""
              proxy:
                listen: ["127.0.0.1:0"]
                sites:
                  - name: web
                    pools: ["gossip://web"]
            """)
        reloaded.proxy.health.interval = .milliseconds(20)
        _ = try await role.reconfigure(to: reloaded)
        try await expectAnswers(["announced"], through: port)

        await role.shutdown(grace: .seconds(1))
        try await role.run()
        for backend in [fixed, announced] { try await backend.stop() }
    }
}

/// Offers membership in the configuration only: `check-config`'s view of a gossip role, never started.
struct MembershipOffering: RolePlugin {
    struct NotRunnable: Error {}
    let name = "gossip"
    var offers: [AnyCapability] { [AnyCapability(.membership)] }
    func decode(_ section: ConfigMapping) throws -> Int { 0 }
    func summary(of settings: Int) -> String { "" }
    func makeRole(settings: Int, context: RoleContext) async throws -> any Role<Int> { throw NotRunnable() }
}

@Suite struct ProxyRoutesSectionTests {
    let catalog = RoleCatalog([AnyRolePlugin(ProxyRolePlugin())])

    func problems(_ yaml: String) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n" + yaml, path: "p.yaml", catalog: catalog, environment: [:])
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func routesAndTheDefaultSiteAreRead() throws {
        let configuration = try OutriderConfiguration.parse("""
            roles:
              proxy:
                sites: [{name: web, pools: ["http://127.0.0.1:1"]}, {name: api, pools: ["http://127.0.0.1:2"]}]
                routes:
                  - {hosts: [example.com, "*.example.com"], site: web}
                  - {hosts: [api.example.com], site: api}
                default_site: web
            """, path: "p.yaml", catalog: catalog, environment: [:])
        let settings = try #require(configuration.roles.first?.settings.value as? ProxyRoleSettings)
        #expect(settings.proxy.routes == [.init(hosts: ["example.com", "*.example.com"], site: "web"), .init(hosts: ["api.example.com"], site: "api")])
        #expect(settings.proxy.defaultSite == "web")
    }

    @Test func badRoutesAreReportedWhereTheyAre() {
        #expect(problems("""
              proxy:
                sites: [{name: web, pools: ["http://127.0.0.1:1"]}]
                routes:
                  - {hosts: [example.com], site: api}
            """) == ["5:7: roles.proxy: routes: no site is named api"])
        #expect(problems("""
              proxy:
                sites: [{name: web, pools: ["http://127.0.0.1:1"]}]
                default_site: nope
            """) == ["4:19: roles.proxy: routes: no site is named nope"])
        #expect(problems("""
              proxy:
                sites: [{name: web, pools: ["http://127.0.0.1:1"]}]
                routes:
                  - {hosts: [], site: web}
                  - {site: web, host: x}
            """) == [
                "5:17: roles.proxy.routes[0].hosts needs at least one host",
                "6:9: roles.proxy.routes[1] is missing required key 'hosts'",
                "6:21: unknown key 'host' in roles.proxy.routes[1] (did you mean 'hosts'?)",
            ])
    }
}
