import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import Plugins
import ServiceLifecycle

/// Three test roles in a catalog — a provider of the greeting capability, a consumer of it, and a role with
/// neither — with a host over them and a `ServiceGroup` to run their services in, as the daemon does.
struct HostFixture {
    let log = EventLog()
    let provider: TestRolePlugin
    let consumer: TestRolePlugin
    let plain: TestRolePlugin
    let catalog: RoleCatalog
    let metrics = TestMetrics()
    let routes = AdminRouteTable()
    let host: RoleHost

    init(grace: Duration = .seconds(2)) {
        provider = TestRolePlugin(name: "provider", offers: [AnyCapability(.greeting)], log: log)
        consumer = TestRolePlugin(name: "consumer", uses: [AnyCapability(.greeting)], log: log)
        plain = TestRolePlugin(name: "plain", log: log)
        // Catalog order puts the consumer first, so any correct order comes from the capabilities.
        catalog = RoleCatalog([AnyRolePlugin(consumer), AnyRolePlugin(plain), AnyRolePlugin(provider)])
        host = RoleHost(
            catalog: catalog,
            environment: .init(
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                metrics: metrics,
                node: NodeIdentity(name: "test-node", version: "0"),
                routes: routes,
                shutdownGrace: grace
            ),
            logger: Logger(label: "test")
        )
    }

    func configuration(_ text: String) throws -> OutriderConfiguration {
        try OutriderConfiguration.parse(text, path: "test.yaml", catalog: catalog, environment: [:])
    }

    func roles(_ text: String) throws -> [RoleDeclaration] {
        try configuration(text).roles
    }

    func state(of role: String) async -> RoleState? {
        await host.reports().first { $0.name == role }?.state
    }

    /// Runs the host's services in a `ServiceGroup` while `body` runs, then shuts the group down gracefully and
    /// waits for it, as SIGTERM would.
    func withRunningGroup(
        _ services: [ServiceGroupConfiguration.ServiceConfiguration],
        _ body: (ServiceGroup) async throws -> Void
    ) async throws {
        let group = ServiceGroup(configuration: .init(services: services, logger: Logger(label: "group")))
        await host.setServiceSink { await group.addServiceUnlessShutdown($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(group)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

func waitUntil(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw TimedOut(what: "condition not met within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A wait in a test that ran out of time: a failure, never a skip.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}
