import NIOCore
import Testing

@testable import Proxy

/// A site's backends replaced while the proxy runs: no listener, TLS or other backend touched.
@Suite struct ProxyLiveBackendsTests {
    private func names(_ count: Int, port: Int) async throws -> Set<String> {
        var seen: Set<String> = []
        for _ in 0..<count {
            let response = try await TestClient.get(port: port, "/")
            seen.insert(String(String(buffer: response.body).prefix(1)))
        }
        return seen
    }

    @Test func backendsAreReplacedLive() async throws {
        let a = try await TestBackend.start(name: "a")
        let b = try await TestBackend.start(name: "b")
        let c = try await TestBackend.start(name: "c")
        let proxy = try await ProxyHarness.start(sites: [[a, b]])
        let port = proxy.port
        #expect(try await names(20, port: port) == ["a", "b"])
        try await eventually { a.openConnectionCount > 0 }

        try await proxy.server.replaceBackends(ofSite: "site1", with: [b.url, c.url])
        let backends = proxy.server.status().sites[0].backends
        #expect(backends.map(\.endpoint) == [b.url, c.url])
        // The kept backend is online at once; the new one after its first check.
        #expect(backends[0].status == "online")
        try await eventually { proxy.onlineCount() == 2 }
        #expect(try await names(30, port: port) == ["b", "c"])
        // The removed backend's pooled connections are closed, and it is not checked again.
        // Counted once its connections are gone: a health check may have reached it until the
        // replacement, none after.
        try await eventually { a.openConnectionCount == 0 }
        let aConnections = a.connectionCount
        try await Task.sleep(for: .milliseconds(500))
        #expect(a.connectionCount == aConnections)
        #expect(proxy.port == port)

        try await proxy.server.replaceBackends(ofSite: "site1", with: [])
        let empty = try await TestClient.get(port: port, "/")
        #expect(empty.status == .badGateway)
        await proxy.stop()
        for backend in [a, b, c] { await backend.stop() }
    }

    @Test func badReplacementsChangeNothing() async throws {
        let a = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[a]])
        await #expect(throws: ProxyServerError.unknownSite("nowhere")) {
            try await proxy.server.replaceBackends(ofSite: "nowhere", with: [a.url])
        }
        await #expect(throws: ProxyConfigurationError.self) {
            try await proxy.server.replaceBackends(ofSite: "site1", with: ["ftp://127.0.0.1:1"])
        }
        await #expect(throws: ProxyConfigurationError.mixedSchemes(site: "site1")) {
            try await proxy.server.replaceBackends(ofSite: "site1", with: [a.url, "https://127.0.0.1:1"])
        }
        #expect(proxy.server.status().sites[0].backends.map(\.endpoint) == [a.url])
        #expect(try await TestClient.get(port: proxy.port, "/").status == .ok)
        await proxy.stop()
        await a.stop()
    }
}
