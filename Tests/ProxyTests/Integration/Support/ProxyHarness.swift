import Logging
import Metrics
import MetricsTestKit
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@testable import Proxy

/// Collects trace lines in memory.
final class CollectingTraceSink: TraceSink {
    private let lines = NIOLockedValueBox<[String]>([])

    func write(_ line: String) {
        lines.withLockedValue { $0.append(line) }
    }

    var all: [String] { lines.withLockedValue { $0 } }
}

/// A proxy on 127.0.0.1 with an ephemeral port in front of test backends.
struct ProxyHarness {
    let server: ProxyServer
    let metrics: TestMetrics
    let traces: CollectingTraceSink

    var port: Int { server.localAddresses[0].port! }

    /// A configuration for tests: one listener on an ephemeral port, fast health checks.
    static func configuration(sites: [[TestBackend]], balance: BalancePolicy = .least) -> ProxyConfiguration {
        var configuration = ProxyConfiguration(
            listeners: [.init(host: "127.0.0.1", port: 0)],
            sites: sites.map { ProxyConfiguration.Site(pools: $0.map(\.url)) },
            balance: balance
        )
        configuration.health.path = "/health"
        configuration.health.interval = .milliseconds(100)
        configuration.health.timeout = .seconds(2)
        configuration.upstream.connectTimeout = .seconds(2)
        return configuration
    }

    static func start(
        _ configuration: ProxyConfiguration,
        waitForBackends: Bool = true,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ProxyHarness {
        var logger = Logger(label: "proxy-test")
        logger.logLevel = .critical
        let metrics = TestMetrics()
        let traces = CollectingTraceSink()
        let server = ProxyServer(
            configuration: configuration,
            eventLoopGroup: group,
            logger: logger,
            metricsFactory: metrics,
            traceSink: traces
        )
        try await server.start()
        let harness = ProxyHarness(server: server, metrics: metrics, traces: traces)
        if waitForBackends {
            try await eventually {
                harness.server.status().sites.allSatisfy { $0.backends.allSatisfy { $0.status == "online" } }
            }
        }
        return harness
    }

    /// A proxy in front of one scripted backend, checked rarely so that health checks stay out
    /// of what the backend records.
    static func start(
        _ backend: ScriptedBackend,
        allowConnect: Bool = false,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ProxyHarness {
        var configuration = ProxyConfiguration(
            listeners: [.init(host: "127.0.0.1", port: 0)],
            sites: [ProxyConfiguration.Site(pools: [backend.url])]
        )
        configuration.health.path = "/health"
        configuration.health.interval = .seconds(30)
        configuration.allowConnect = allowConnect
        return try await start(configuration, group: group)
    }

    static func start(sites: [[TestBackend]], balance: BalancePolicy = .least) async throws -> ProxyHarness {
        try await start(configuration(sites: sites, balance: balance))
    }

    func stop() async {
        await server.shutdown(grace: .seconds(1))
    }

    func onlineCount() -> Int {
        server.status().sites.reduce(0) { $0 + $1.backends.filter { $0.status == "online" }.count }
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String { "condition not met in time" }
}

/// Polls `condition` until it holds; fails after `limit`. A wait, not a timing assertion.
func eventually(within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TimedOut()
}
