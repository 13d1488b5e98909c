import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// `routes`: one listener, a site chosen by each request's `Host`.
@Suite struct ProxyVirtualHostTests {
    @Test func eachHostGoesToItsSiteAndOthersGet404() async throws {
        let web = try await TestBackend.start(name: "web")
        let api = try await TestBackend.start(name: "api")
        var configuration = ProxyHarness.configuration(sites: [[web], [api]])
        configuration.sites[0].name = "web"
        configuration.sites[1].name = "api"
        configuration.routes = [
            .init(hosts: ["example.com", "*.example.com"], site: "web"),
            .init(hosts: ["api.example.com", "API.Example.NET"], site: "api"),
        ]
        let proxy = try await ProxyHarness.start(configuration)
        let client = try await TestClient.connect(port: proxy.port)
        for (host, expected) in [
            ("example.com", "web"), ("www.example.com:8080", "web"), ("a.b.example.com", "web"), ("api.example.com", "api"),
            ("api.example.net", "api"), ("EXAMPLE.com.", "web"), ("api.example.com:443", "api"),
        ] {
            let response = try await client.send(.GET, "/", headers: ["host": host])
            #expect(response.status == .ok, "\(host)")
            #expect(response.text.split(separator: "\n").first.map(String.init) == expected, "\(host)")
        }
        for host in ["example.org", "xexample.com", "127.0.0.1"] {
            let response = try await client.send(.GET, "/", headers: ["host": host])
            #expect(response.status == .notFound, "\(host)")
            #expect(response.text == "no site serves this host\n")
        }
        #expect(client.isActive, "a 404 keeps the connection")
        // A site whose backends are all down does not fail over to another virtual host's site.
        await web.stop()
        try await eventually { proxy.server.status().sites[0].backends.allSatisfy { $0.status != "online" } }
        #expect(try await client.send(.GET, "/", headers: ["host": "example.com"]).status == .badGateway)
        #expect(try await client.send(.GET, "/", headers: ["host": "api.example.com"]).status == .ok)
        await client.close()
        await proxy.stop()
        await api.stop()
    }

    @Test func anUnknownHostGoesToTheDefaultSite() async throws {
        let web = try await TestBackend.start(name: "web")
        let fallback = try await TestBackend.start(name: "fallback")
        var configuration = ProxyHarness.configuration(sites: [[web], [fallback]])
        configuration.sites[0].name = "web"
        configuration.sites[1].name = "fallback"
        configuration.routes = [.init(hosts: ["example.com"], site: "web")]
        configuration.defaultSite = "fallback"
        let proxy = try await ProxyHarness.start(configuration)
        let client = try await TestClient.connect(port: proxy.port)
        #expect(try await client.send(.GET, "/", headers: ["host": "example.com"]).text.hasPrefix("web\n"))
        #expect(try await client.send(.GET, "/", headers: ["host": "other.test"]).text.hasPrefix("fallback\n"))
        await client.close()
        await proxy.stop()
        await web.stop()
        await fallback.stop()
    }

    @Test func routesAreChecked() {
        let sites = ["web", "api"]
        #expect(throws: ProxyConfigurationError.unknownRouteSite("nope")) { try HostRoutes([.init(hosts: ["a.com"], site: "nope")], defaultSite: nil, sites: sites) }
        #expect(throws: ProxyConfigurationError.unknownRouteSite("gone")) { try HostRoutes([], defaultSite: "gone", sites: sites) }
        #expect(throws: ProxyConfigurationError.invalidRouteHost(host: "a.com", reason: "named by two routes")) {
            try HostRoutes([.init(hosts: ["a.com"], site: "web"), .init(hosts: ["a.com"], site: "api")], defaultSite: nil, sites: sites)
        }
        for bad in ["", "*.", "a..com", "-a.com", "a_b.com", "*.*.a.com", "a.com:80"] {
            #expect(throws: ProxyConfigurationError.self, "\(bad)") { try HostRoutes([.init(hosts: [bad], site: "web")], defaultSite: nil, sites: sites) }
        }
        let routes = try? HostRoutes([.init(hosts: ["*.example.com"], site: "web"), .init(hosts: ["*.api.example.com"], site: "api")], defaultSite: nil, sites: sites)
        #expect(routes?.site(forAuthority: "x.api.example.com") == 1, "the longest wildcard wins")
        #expect(routes?.site(forAuthority: "api.example.com") == 0)
        #expect(routes?.site(forAuthority: "example.com") == nil, "a wildcard does not name its own suffix")
        #expect(routes?.site(forAuthority: "[::1]:80") == nil)
    }
}

/// Listeners with virtual hosts of their own (`Listener.virtualHosts`, the ports `discover: true` opens) beside the
/// configured ones, and sites reached only by route.
@Suite struct ListenerVirtualHostTests {
    func configuration(main: TestBackend, app: TestBackend, appHosts: [String]) -> ProxyConfiguration {
        var configuration = ProxyHarness.configuration(sites: [[main], [app]])
        configuration.sites[0].name = "main"
        configuration.sites[1].name = "app"
        configuration.sites[1].routedOnly = true
        configuration.listeners.append(.init(host: "127.0.0.1", port: 0, virtualHosts: .init(routes: [.init(hosts: appHosts, site: "app")])))
        return configuration
    }

    @Test func aListenerRoutesItsOwnHostsAndTakesNewOnesWithoutARebind() async throws {
        let main = try await TestBackend.start(name: "main")
        let app = try await TestBackend.start(name: "app")
        let proxy = try await ProxyHarness.start(configuration(main: main, app: app, appHosts: ["app.test"]))
        let own = try #require(proxy.server.localAddresses.last?.port)
        let configured = try await TestClient.connect(port: proxy.port)
        let client = try await TestClient.connect(port: own)
        #expect(try await client.send(.GET, "/", headers: ["host": "app.test"]).text.hasPrefix("app\n"))
        #expect(try await client.send(.GET, "/", headers: ["host": "main.test"]).status == .notFound)
        #expect(try await configured.send(.GET, "/", headers: ["host": "app.test"]).text.hasPrefix("main\n"), "the configured listener has no routes")

        // New hosts on the same port: the listener and its connections stay, the new route applies at once.
        try await proxy.server.reconfigure(configuration(main: main, app: app, appHosts: ["app.test", "*.app.test"]))
        #expect(proxy.server.localAddresses.last?.port == own)
        #expect(try await client.send(.GET, "/", headers: ["host": "www.app.test"]).text.hasPrefix("app\n"))
        #expect(client.isActive)

        var without = configuration(main: main, app: app, appHosts: ["app.test"])
        without.listeners.removeLast()
        without.sites.removeLast()

        // A site reached only by route is never a failover target for the configured listener.
        await main.stop()
        try await eventually { proxy.server.status().sites[0].backends.allSatisfy { $0.status != "online" } }
        #expect(try await configured.send(.GET, "/", headers: ["host": "app.test"]).status == .badGateway)

        // The listener goes: the proxy no longer listens on its port, its open connection is answered 404.
        try await proxy.server.reconfigure(without)
        #expect(try await client.send(.GET, "/", headers: ["host": "app.test"]).status == .notFound)
        #expect(!proxy.server.localAddresses.contains { $0.port == own })
        // The freed port can be given at once to another test's port-0 listener in this process (one seen here
        // accepted and did not answer), so a connection to it fails the test only when this proxy answers it: with
        // the app through the removed route, or with its own 404 for a listener left without routes.
        if let connected = try? await TestClient.connect(port: own) {
            if let answer = try? await connected.send(.GET, "/", headers: ["host": "app.test"]) {
                let fromThisProxy = answer.text.hasPrefix("app\n") || answer.text == "no site serves this host\n"
                #expect(!fromThisProxy, "port \(own) still reaches the proxy after its listener was removed: \(answer.status) \(answer.text.prefix(40))")
            }
            await connected.close()
        }
        await client.close()
        await configured.close()
        await proxy.stop()
        await app.stop()
    }

    @Test func sitesReachedOnlyByRouteComeLast() {
        var configuration = ProxyConfiguration(sites: [.init(name: "a", pools: ["http://127.0.0.1:1"], routedOnly: true), .init(name: "b", pools: ["http://127.0.0.1:2"])])
        #expect(throws: ProxyConfigurationError.invalidValue(field: "sites", reason: "the sites reached only by route must come after the others")) { try configuration.validate() }
        configuration.sites.reverse()
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.listeners.append(.init(port: 0, virtualHosts: .init(routes: [.init(hosts: ["x.test"], site: "nope")])))
        #expect(throws: ProxyConfigurationError.unknownRouteSite("nope")) { try configuration.validate() }
        var empty = ProxyConfiguration(sites: [])
        #expect(throws: ProxyConfigurationError.noSites) { try empty.validate() }
        empty.sitesAddedAtRunTime = true
        #expect(throws: Never.self) { try empty.validate() }
    }
}
