import MetricsTestKit
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct ProxyRoutingTests {
    @Test func distributesAcrossBackendsAndForwardsClientDetails() async throws {
        let backends = [
            try await TestBackend.start(name: "a"), try await TestBackend.start(name: "b"), try await TestBackend.start(name: "c"),
        ]
        let proxy = try await ProxyHarness.start(sites: [backends], balance: .roundRobin)
        let client = try await TestClient.connect(port: proxy.port)
        var seen: [String: Int] = [:]
        for _ in 0..<30 {
            let response = try await client.send(.GET, "/hello?x=1", headers: ["host": "example.test", "connection": "keep-alive, x-hop", "x-hop": "1"])
            #expect(response.status == .ok)
            let lines = response.text.split(separator: "\n").map(String.init)
            seen[lines[0], default: 0] += 1
            #expect(lines.contains("host=example.test"))
            #expect(lines.contains("x-forwarded-for=127.0.0.1"))
            #expect(lines.contains("x-real-ip=127.0.0.1"))
            #expect(lines.contains("x-forwarded-host=example.test"))
            #expect(lines.contains("x-forwarded-proto=http"))
            #expect(lines.contains("x-hop="))
        }
        #expect(seen == ["a": 10, "b": 10, "c": 10])
        #expect(client.isActive, "keep-alive connection closed")
        #expect(backends.allSatisfy { $0.requests.allSatisfy { $0.uri == "/hello?x=1" } })
        await client.close()
        await proxy.stop()
        for backend in backends { await backend.stop() }
    }

    @Test(arguments: [BalancePolicy.least, .random, .p2cEWMA])
    func everyPolicySpreadsConcurrentLoad(policy: BalancePolicy) async throws {
        let backends = [try await TestBackend.start(name: "a"), try await TestBackend.start(name: "b")]
        let proxy = try await ProxyHarness.start(sites: [backends], balance: policy)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let client = try await TestClient.connect(port: proxy.port)
                    for _ in 0..<25 {
                        let response = try await client.send(.GET, "/slow?ms=1")
                        #expect(response.status == .ok)
                    }
                    await client.close()
                }
            }
            try await group.waitForAll()
        }
        #expect(backends[0].requests.count + backends[1].requests.count == 100)
        #expect(backends.allSatisfy { $0.requests.count > 0 })
        await proxy.stop()
        for backend in backends { await backend.stop() }
    }

    @Test func startWaitsForTheFirstHealthChecks() async throws {
        let healthy = try await TestBackend.start(name: "healthy")
        let sick = try await TestBackend.start(name: "sick")
        sick.healthStatus = .serviceUnavailable
        let proxy = try await ProxyHarness.start(ProxyHarness.configuration(sites: [[healthy, sick]]), waitForBackends: false)
        #expect(proxy.server.status().sites[0].backends.map(\.status) == ["online", "offline"])
        #expect(try await TestClient.get(port: proxy.port, "/").text.hasPrefix("healthy"))
        await proxy.stop()
        await healthy.stop()
        await sick.stop()
    }

    @Test func healthEndpointAndNoBackendOnline() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        #expect(try await TestClient.get(port: proxy.port, "/v1/health").status == .ok)
        #expect(try await TestClient.get(port: proxy.port, "/v1/health", method: .HEAD).status == .ok)
        #expect(backend.requests.isEmpty, "health endpoint was proxied")

        backend.healthStatus = .serviceUnavailable
        try await eventually { proxy.onlineCount() == 0 }
        let response = try await TestClient.get(port: proxy.port, "/anything")
        #expect(response.status == .badGateway)
        #expect(response.head.headers["retry-after"] == ["1"])
        #expect(response.text == "no backend online\n")
        #expect(try await TestClient.get(port: proxy.port, "/v1/health", method: .POST).status == .badGateway)
        await proxy.stop()
        await backend.stop()
    }

    @Test func failsOverToNextSiteAndBack() async throws {
        let primary = try await TestBackend.start(name: "primary")
        let secondary = try await TestBackend.start(name: "secondary")
        let proxy = try await ProxyHarness.start(sites: [[primary], [secondary]])
        #expect(try await TestClient.get(port: proxy.port, "/").text.hasPrefix("primary"))

        primary.healthStatus = .internalServerError
        try await eventually { proxy.server.status().sites[0].backends[0].status == "offline" }
        #expect(try await TestClient.get(port: proxy.port, "/").text.hasPrefix("secondary"))

        primary.healthStatus = .ok
        try await eventually { proxy.server.status().sites[0].backends[0].status == "online" }
        #expect(try await TestClient.get(port: proxy.port, "/").text.hasPrefix("primary"))
        let status = proxy.server.status()
        #expect(status.sites.map(\.name) == ["site1", "site2"])
        #expect(status.sites[0].backends[0].downtimeSeconds > 0)
        #expect(status.sites[0].backends[0].calls == 2)
        await proxy.stop()
        await primary.stop()
        await secondary.stop()
    }

    @Test func lastSiteIsCheckedWithReadPath() async throws {
        let primary = try await TestBackend.start(name: "primary")
        let replica = try await TestBackend.start(name: "replica")
        primary.healthStatus = .serviceUnavailable
        replica.healthStatus = .serviceUnavailable
        var configuration = ProxyHarness.configuration(sites: [[primary], [replica]])
        // The test backend answers 200 on any path but /health.
        configuration.health.readPath = "/read-ready"
        let proxy = try await ProxyHarness.start(configuration, waitForBackends: false)
        try await eventually { proxy.server.status().sites[1].backends[0].status == "online" }
        #expect(proxy.server.status().sites[0].backends[0].status == "offline")
        #expect(try await TestClient.get(port: proxy.port, "/").text.hasPrefix("replica"))
        await proxy.stop()
        await primary.stop()
        await replica.stop()
    }

    @Test func requestMetricsAndTraceAreRecorded() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.trace = .init(enabled: true, filter: .application, statusCodes: [200, 404])
        let proxy = try await ProxyHarness.start(configuration)
        #expect(try await TestClient.get(port: proxy.port, "/x?y=z").status == .ok)
        #expect(try await TestClient.get(port: proxy.port, "/status?code=404").status == .notFound)
        #expect(try await TestClient.get(port: proxy.port, "/status?code=500").status == .internalServerError)
        #expect(try await TestClient.get(port: proxy.port, "/v1/health").status == .ok)

        let dimensions = [("site", "site1"), ("backend", backend.url)]
        let ok = try proxy.metrics.expectCounter("requests_total", dimensions + [("code", "200")])
        #expect(ok.totalValue == 1)
        let missing = try proxy.metrics.expectCounter("requests_total", dimensions + [("code", "404")])
        #expect(missing.totalValue == 1)
        let up = try proxy.metrics.expectGauge("backend_up", dimensions)
        #expect(up.lastValue == 1)
        let duration = try proxy.metrics.expectRecorder("request_duration_seconds", dimensions)
        #expect(duration.values.count == 3)
        #expect(duration.values.allSatisfy { $0 > 0 && $0 < 10 })
        let tx = try proxy.metrics.expectCounter("tx_bytes_total", dimensions)
        #expect(tx.totalValue > 0)

        let lines = proxy.traces.all
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.contains("\"path\":\"/x\"") == true)
        #expect(lines.first?.contains("\"query\":\"y=z\"") == true)
        #expect(lines.first?.contains("\"status\":200") == true)
        #expect(lines.first?.contains("\"client\":\"127.0.0.1\"") == true)
        #expect(lines.first?.contains("\"backend\":\"\(backend.url)\"") == true)
        #expect(lines.last?.contains("\"status\":404") == true)
        await proxy.stop()
        await backend.stop()
    }
}
