import MetricsTestKit
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct ProxyResilienceTests {
    @Test func idempotentRequestIsRetriedOnAnotherBackendAndFailedBackendGoesDown() async throws {
        let dead = try await TestBackend.start(name: "dead")
        let alive = try await TestBackend.start(name: "alive")
        var configuration = ProxyHarness.configuration(sites: [[dead, alive]], balance: .roundRobin)
        // Slow checks, so only the proxying error can take the backend down during the test.
        configuration.health.interval = .seconds(30)
        let proxy = try await ProxyHarness.start(configuration)
        // It fails as a stopped backend would, but keeps its port, which another test's backend
        // could otherwise take over.
        await dead.failConnections()
        // Round robin starts with the first backend, which now closes every connection.
        let response = try await TestClient.get(port: proxy.port, "/")
        #expect(response.status == .ok)
        #expect(response.text.hasPrefix("alive"))
        #expect(proxy.server.status().sites[0].backends[0].status == "offline")
        #expect(try proxy.metrics.expectCounter("retries_total").totalValue == 1)
        await proxy.stop()
        await alive.stop()
        await dead.stop()
    }

    /// A response the proxy cannot read safely is never passed on in part: the client gets 502
    /// and the connection to the backend is dropped.
    @Test func malformedBackendResponseGets502() async throws {
        let backend = try await TestBackend.start(name: "broken")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.health.interval = .seconds(30)
        let proxy = try await ProxyHarness.start(configuration)
        let response = try await TestClient.get(port: proxy.port, "/malformed")
        #expect(response.status == .badGateway)
        #expect(!response.text.contains("hello"))
        await proxy.stop()
        await backend.stop()
    }

    @Test func nonIdempotentRequestIsNotRetried() async throws {
        let dead = try await TestBackend.start(name: "dead")
        let alive = try await TestBackend.start(name: "alive")
        var configuration = ProxyHarness.configuration(sites: [[dead, alive]], balance: .roundRobin)
        configuration.health.interval = .seconds(30)
        let proxy = try await ProxyHarness.start(configuration)
        // It fails as a stopped backend would, but keeps its port, which another test's backend
        // could otherwise take over.
        await dead.failConnections()
        let client = try await TestClient.connect(port: proxy.port)
        let response = try await client.send(.POST, "/count", body: ByteBuffer(string: "data"))
        #expect(response.status == .badGateway)
        #expect(alive.requests.isEmpty)
        await client.close()
        await proxy.stop()
        await alive.stop()
        await dead.stop()
    }

    @Test func backendKilledUnderLoadGivesNoErrorsForGet() async throws {
        let victim = try await TestBackend.start(name: "victim")
        let survivor = try await TestBackend.start(name: "survivor")
        var configuration = ProxyHarness.configuration(sites: [[victim, survivor]])
        configuration.health.interval = .seconds(30)
        let proxy = try await ProxyHarness.start(configuration)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let client = try await TestClient.connect(port: proxy.port)
                    var failures = 0
                    for index in 0..<60 {
                        if worker == 0, index == 20 { await victim.kill() }
                        if try await client.send(.GET, "/slow?ms=1").status != .ok { failures += 1 }
                    }
                    await client.close()
                    return failures
                }
            }
            var failures = 0
            for try await count in group { failures += count }
            #expect(failures == 0)
        }
        #expect(proxy.server.status().sites[0].backends[0].status == "offline")
        await proxy.stop()
        await survivor.stop()
    }

    @Test func clientDisconnectDoesNotMarkBackendDown() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.health.interval = .seconds(30)
        let proxy = try await ProxyHarness.start(configuration)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n")
        try await eventually { backend.requests.count == 1 }
        await client.close()
        try await eventually { proxy.server.status().sites[0].backends[0].inFlight == 0 }
        #expect(proxy.server.status().sites[0].backends[0].status == "online")
        #expect(try await TestClient.get(port: proxy.port, "/").status == .ok)
        await proxy.stop()
        await backend.stop()
    }

    @Test func slowBackendGets504() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        // Long enough for the plain request after it to be answered in time on a loaded
        // machine, where the parallel suite runs too.
        configuration.upstream.responseTimeout = .milliseconds(500)
        let proxy = try await ProxyHarness.start(configuration)
        let response = try await TestClient.get(port: proxy.port, "/slow?ms=2000")
        #expect(response.status == .gatewayTimeout)
        // The backend stays online: a plain request is answered (on a machine so loaded that one takes longer
        // than the timeout too, a later one).
        try await eventually { try await TestClient.get(port: proxy.port, "/").status == .ok }
        await proxy.stop()
        await backend.stop()
    }

    @Test func shutdownDrainsInFlightRequests() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let port = proxy.port
        let inFlight = Task { try await TestClient.get(port: port, "/slow?ms=300") }
        try await eventually { backend.requests.count == 1 }
        await proxy.server.shutdown(grace: .seconds(5))
        let response = try await inFlight.value
        #expect(response.status == .ok)
        await #expect(throws: (any Error).self) { try await TestClient.get(port: port, "/") }
        // Idempotent, and run() returns once stopped.
        await proxy.server.shutdown(grace: .seconds(1))
        try await proxy.server.run()
        await backend.stop()
    }

    @Test func reconfigureKeepsInFlightRequestsAndHealth() async throws {
        let old = try await TestBackend.start(name: "old")
        let new = try await TestBackend.start(name: "new")
        let proxy = try await ProxyHarness.start(sites: [[old]])
        let port = proxy.port
        let inFlight = Task { try await TestClient.get(port: port, "/slow?ms=300") }
        try await eventually { old.requests.count == 1 }

        var configuration = ProxyHarness.configuration(sites: [[old], [new]], balance: .random)
        configuration.health.optimistic = true
        try await proxy.server.reconfigure(configuration)
        // The kept backend kept its health: it is online at once.
        #expect(proxy.server.status().sites[0].backends[0].status == "online")
        #expect(proxy.server.localAddresses.first?.port == port)
        #expect(try await inFlight.value.text.hasPrefix("old"))
        try await eventually { proxy.onlineCount() == 2 }

        try await proxy.server.reconfigure(ProxyHarness.configuration(sites: [[new]]))
        try await eventually { proxy.onlineCount() == 1 }
        #expect(try await TestClient.get(port: port, "/").text.hasPrefix("new"))
        await proxy.stop()
        await old.stop()
        await new.stop()
    }

    @Test func reconfigureRebindsChangedListenersOnly() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let firstPort = proxy.port
        let kept = try await TestClient.connect(port: firstPort)
        #expect(try await kept.send(.GET, "/").status == .ok)

        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.listeners = [.init(host: "127.0.0.1", port: firstPort), .init(host: "127.0.0.1", port: 0)]
        try await proxy.server.reconfigure(configuration)
        let addresses = proxy.server.localAddresses
        #expect(addresses.count == 2)
        #expect(addresses[0].port == firstPort)
        #expect(try await TestClient.get(port: addresses[1].port!, "/").status == .ok)
        // The unchanged listener kept its connections.
        #expect(try await kept.send(.GET, "/").status == .ok)

        configuration.listeners = [.init(host: "127.0.0.1", port: addresses[1].port!)]
        try await proxy.server.reconfigure(configuration)
        #expect(proxy.server.localAddresses.map(\.port) == [addresses[1].port])
        await #expect(throws: (any Error).self) { try await TestClient.get(port: firstPort, "/") }
        await kept.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func invalidReconfigurationKeepsTheRunningOne() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.sites = [.init(pools: ["http://b{1...2}:9000", "http://c:9000"])]
        await #expect(throws: ProxyConfigurationError.self) { try await proxy.server.reconfigure(configuration) }
        #expect(try await TestClient.get(port: proxy.port, "/").status == .ok)
        await proxy.stop()
        await backend.stop()
    }

    @Test func startFailsNamingTheAddress() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.listeners = [.init(host: "127.0.0.1", port: proxy.port)]
        let clash = ProxyServer(
            configuration: configuration,
            eventLoopGroup: .singletonMultiThreadedEventLoopGroup,
            logger: .init(label: "t"),
            metricsFactory: proxy.metrics
        )
        await #expect {
            try await clash.start()
        } throws: { error in
            guard case ProxyServerError.bindFailed(let address, _) = error else { return false }
            return address == "127.0.0.1:\(proxy.port)"
        }
        await proxy.stop()
        await backend.stop()
    }
}

@Suite struct ProxyLifecycleTests {
    @Test func proxyNeverStartedCanBeDroppedAndShutDown() async throws {
        let configuration = ProxyConfiguration(listeners: [.init(host: "127.0.0.1", port: 0)], sites: [.init(pools: ["http://127.0.0.1:1"])])
        do {
            _ = ProxyServer(
                configuration: configuration,
                eventLoopGroup: .singletonMultiThreadedEventLoopGroup,
                logger: .init(label: "t"),
                metricsFactory: TestMetrics()
            )
        }
        let stopped = ProxyServer(
            configuration: configuration,
            eventLoopGroup: .singletonMultiThreadedEventLoopGroup,
            logger: .init(label: "t"),
            metricsFactory: TestMetrics()
        )
        await stopped.shutdown(grace: .seconds(1))
        try await stopped.run()
        await #expect(throws: ProxyServerError.alreadyStarted) { try await stopped.start() }
        await #expect(throws: ProxyServerError.notRunning) { try await stopped.reconfigure(configuration) }
    }

    @Test func invalidConfigurationFailsStart() async throws {
        let configuration = ProxyConfiguration(listeners: [.init(host: "127.0.0.1", port: 0)], sites: [.init(pools: ["ftp://x"])])
        let proxy = ProxyServer(
            configuration: configuration,
            eventLoopGroup: .singletonMultiThreadedEventLoopGroup,
            logger: .init(label: "t"),
            metricsFactory: TestMetrics()
        )
        await #expect(throws: ProxyConfigurationError.invalidPool(site: "site1", pool: "ftp://x", reason: "scheme must be http or https")) {
            try await proxy.start()
        }
        try await proxy.run()
        #expect(proxy.localAddresses.isEmpty)
    }
}
