import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import Plugins
import ServiceLifecycle
import XCTest

/// The plugin contract, end to end through the host and a real `ServiceGroup`.
final class RoleHostTests: XCTestCase {
    var eventLoopGroup: MultiThreadedEventLoopGroup!

    override func setUp() {
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDown() async throws {
        try await eventLoopGroup.shutdownGracefully()
    }

    struct Fixture {
        let log = EventLog()
        let provider: TestRolePlugin
        let consumer: TestRolePlugin
        let plain: TestRolePlugin
        let catalog: RoleCatalog
        let metrics = TestMetrics()
        let routes = AdminRouteTable()

        init() {
            provider = TestRolePlugin(name: "provider", offers: ["greeting"], log: log)
            consumer = TestRolePlugin(name: "consumer", uses: ["greeting"], log: log)
            plain = TestRolePlugin(name: "plain", log: log)
            // Catalog order puts the consumer first, so any correct order comes from the capabilities.
            catalog = RoleCatalog([AnyRolePlugin(consumer), AnyRolePlugin(plain), AnyRolePlugin(provider)])
        }

        func configuration(_ text: String) throws -> OutriderConfiguration {
            try OutriderConfiguration.parse(text, path: "test.yaml", catalog: catalog, environment: [:])
        }
    }

    func makeHost(_ fixture: Fixture, grace: Duration = .seconds(2)) -> RoleHost {
        RoleHost(
            catalog: fixture.catalog,
            environment: .init(
                eventLoopGroup: eventLoopGroup,
                metrics: fixture.metrics,
                node: NodeIdentity(name: "test-node", version: "0"),
                routes: fixture.routes,
                shutdownGrace: grace
            ),
            logger: Logger(label: "test")
        )
    }

    /// Runs the host's services in a `ServiceGroup` while `body` runs, then shuts the group down gracefully.
    func withRunningGroup(
        _ host: RoleHost,
        _ services: [ServiceGroupConfiguration.ServiceConfiguration],
        _ body: () async throws -> Void
    ) async throws {
        let group = ServiceGroup(configuration: .init(services: services, logger: Logger(label: "group")))
        await host.setServiceSink { await group.addServiceUnlessShutdown($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body()
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func testRolesStartInCapabilityOrderAndStopInReverse() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let configuration = try fixture.configuration("roles:\n  consumer: {}\n  provider:\n    greeting: hola\n  plain: {}\n")
        let services = try await host.start(configuration.roles)
        XCTAssertEqual(fixture.log.matching("start"), ["start plain", "start provider", "start consumer"])
        XCTAssertEqual(fixture.consumer.latest?.seenCapabilities[.greeting], "hola", "the consumer sees the provider's capability at start")
        try await withRunningGroup(host, services) {
            let reports = await host.reports()
            XCTAssertEqual(reports.map(\.state), [.running, .running, .running])
            XCTAssertEqual(reports.first { $0.name == "provider" }?.status?["greeting"], "hola")
        }
        let stops = fixture.log.matching("stop")
        XCTAssertEqual(stops.firstIndex(of: "stop consumer")! < stops.firstIndex(of: "stop provider")!, true, "\(stops)")
        XCTAssertEqual(stops.count, 3)
        let states = await host.reports().map(\.state)
        XCTAssertEqual(states, [.stopped, .stopped, .stopped])
    }

    func testDisabledRoleIsReportedAndNotStarted() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let services = try await host.start(try fixture.configuration("roles:\n  plain:\n    enabled: false\n").roles)
        XCTAssertTrue(services.isEmpty)
        XCTAssertTrue(fixture.log.all.isEmpty)
        let states = await host.reports().map(\.state)
        XCTAssertEqual(states, [.disabled])
    }

    func testStartFailureStopsTheRolesAlreadyStarted() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        do {
            _ = try await host.start(try fixture.configuration("roles:\n  plain: {}\n  provider:\n    fail_start: true\n").roles)
            XCTFail("start should fail")
        } catch let failure as RoleStartFailure {
            XCTAssertEqual(failure.description, "role provider failed to start: told to fail")
        }
        XCTAssertEqual(fixture.log.all, ["start plain", "fail-start provider", "stop plain"])
    }

    func testReloadLeavesUnchangedRolesAndTheirConnectionsAlone() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let first = try fixture.configuration("roles:\n  plain:\n    bind: true\n  provider:\n    greeting: a\n")
        let services = try await host.start(first.roles)
        let plainRole = try XCTUnwrap(fixture.plain.latest)
        let port = try XCTUnwrap(plainRole.localPort)
        try await withRunningGroup(host, services) {
            // An established connection to the unaffected role keeps working across the reload.
            let client = try await ClientBootstrap(group: eventLoopGroup)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LineCollector()) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            defer { client.close(promise: nil) }

            let second = try fixture.configuration("roles:\n  plain:\n    bind: true\n  provider:\n    greeting: b\n  consumer: {}\n")
            let outcome = await host.reload(second.roles, shutdownGrace: .seconds(2))
            XCTAssertEqual(outcome.unchanged, ["plain"])
            XCTAssertEqual(outcome.reconfigured, ["provider"])
            XCTAssertEqual(outcome.started, ["consumer"])
            XCTAssertTrue(outcome.succeeded)
            XCTAssertTrue(fixture.plain.latest === plainRole, "an unchanged role is not rebuilt")
            XCTAssertFalse(fixture.log.all.contains("stop plain"))
            XCTAssertEqual(fixture.provider.latest?.settings.greeting, "b")

            try await client.writeAndFlush(ByteBuffer(string: "ping\n")).get()
            let echoed = try await client.pipeline.handler(type: LineCollector.self).get().nextLine()
            XCTAssertEqual(echoed, "ping")

            // Unchanged file: nothing is touched at all.
            let events = fixture.log.all.count
            let again = await host.reload(second.roles, shutdownGrace: .seconds(2))
            XCTAssertEqual(Set(again.unchanged), ["plain", "provider", "consumer"])
            XCTAssertEqual(fixture.log.all.count, events)
        }
    }

    func testReloadRemovesRestartsAndNotifiesCapabilityUsers() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let services = try await host.start(try fixture.configuration("roles:\n  consumer: {}\n  provider:\n    greeting: a\n    restart_on_change: true\n").roles)
        try await withRunningGroup(host, services) {
            let oldProvider = try XCTUnwrap(fixture.provider.latest)
            let outcome = await host.reload(
                try fixture.configuration("roles:\n  consumer: {}\n  provider:\n    greeting: b\n    restart_on_change: true\n").roles,
                shutdownGrace: .seconds(2)
            )
            XCTAssertEqual(outcome.restarted, ["provider"])
            XCTAssertFalse(fixture.provider.latest === oldProvider)
            // The consumer keeps running through its provider's restart and hears of the new provider.
            XCTAssertEqual(fixture.log.matching("stop"), ["stop provider"])
            XCTAssertEqual(fixture.log.matching("start"), ["start provider", "start consumer", "start provider"])
            XCTAssertEqual(fixture.consumer.latest?.seenCapabilities[.greeting], "b")

            let removal = await host.reload(try fixture.configuration("roles:\n  consumer: {}\n").roles, shutdownGrace: .seconds(2))
            XCTAssertEqual(removal.stopped, ["provider"])
            XCTAssertNil(fixture.consumer.latest?.seenCapabilities[.greeting], "the consumer hears its provider is gone")
            let names = await host.reports().map(\.name)
            XCTAssertEqual(names, ["consumer"])
        }
    }

    func testRoleFailingLaterIsReportedWhileOthersKeepRunning() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let services = try await host.start(try fixture.configuration("roles:\n  plain: {}\n  provider: {}\n").roles)
        try await withRunningGroup(host, services) {
            fixture.plain.latest?.fail("disk on fire")
            try await waitUntil { await host.reports().first { $0.name == "plain" }?.state == .failed("disk on fire") }
            let providerState = await host.reports().first { $0.name == "provider" }?.state
            XCTAssertEqual(providerState, .running)
            let up = try fixture.metrics.expectGauge("outrider_role_up", [("role", "plain")])
            XCTAssertEqual(up.lastValue, 0)
            XCTAssertEqual(try fixture.metrics.expectCounter("outrider_role_failures_total", [("role", "plain")]).totalValue, 1)
            XCTAssertEqual(try fixture.metrics.expectGauge("outrider_role_up", [("role", "provider")]).lastValue, 1)

            // A reload that changes the failed role's section starts it again.
            let outcome = await host.reload(try fixture.configuration("roles:\n  plain:\n    greeting: again\n  provider: {}\n").roles, shutdownGrace: .seconds(2))
            XCTAssertEqual(outcome.restarted, ["plain"])
            let plainState = await host.reports().first { $0.name == "plain" }?.state
            XCTAssertEqual(plainState, .running)
        }
    }

    func testDrainingIsVisibleAndRefusesReloads() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let services = try await host.start(try fixture.configuration("roles:\n  plain: {}\n").roles)
        try await withRunningGroup(host, services) {
            XCTAssertFalse(host.isDraining)
            await host.beginDraining()
            XCTAssertTrue(host.isDraining)
            let outcome = await host.reload(try fixture.configuration("roles:\n  provider: {}\n").roles, shutdownGrace: .seconds(1))
            XCTAssertEqual(outcome.failures, ["the daemon is stopping"])
            XCTAssertTrue(fixture.log.matching("start provider").isEmpty)
        }
    }

    func testAdminRoutesFollowTheRoleLifetime() async throws {
        let fixture = Fixture()
        let host = makeHost(fixture)
        let services = try await host.start(try fixture.configuration("roles:\n  plain:\n    greeting: yo\n").roles)
        try await withRunningGroup(host, services) {
            guard case .found(let handler) = fixture.routes.lookup(role: "plain", method: .GET, path: "/greeting") else {
                return XCTFail("route missing")
            }
            let response = await handler(AdminRequest(method: .GET, path: "/greeting", query: nil, headers: [:], body: ByteBuffer()))
            XCTAssertEqual(String(buffer: response.body), "yo")
            guard case .methodNotAllowed = fixture.routes.lookup(role: "plain", method: .POST, path: "/greeting") else {
                return XCTFail("POST should be refused")
            }
            _ = await host.reload([], shutdownGrace: .seconds(1))
            guard case .notFound = fixture.routes.lookup(role: "plain", method: .GET, path: "/greeting") else {
                return XCTFail("route should go with the role")
            }
        }
    }
}

func waitUntil(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw TimedOut(what: "condition not met within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Collects newline-terminated lines a connection receives.
final class LineCollector: ChannelInboundHandler, @unchecked Sendable {
    // Accessed on the channel's event loop only (reads), and through `nextLine()` which hops there.
    typealias InboundIn = ByteBuffer
    private var buffer = ByteBuffer()
    private var waiters: [EventLoopPromise<String>] = []
    private var lines: [String] = []
    private var eventLoop: (any EventLoop)?

    func handlerAdded(context: ChannelHandlerContext) { eventLoop = context.eventLoop }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            let line = buffer.readString(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if waiters.isEmpty { lines.append(line) } else { waiters.removeFirst().succeed(line) }
        }
    }

    func nextLine() async throws -> String {
        let eventLoop = self.eventLoop!
        return try await eventLoop.submit { () -> EventLoopFuture<String> in
            if !self.lines.isEmpty { return eventLoop.makeSucceededFuture(self.lines.removeFirst()) }
            let promise = eventLoop.makePromise(of: String.self)
            self.waiters.append(promise)
            return promise.futureResult
        }.flatMap { $0 }.get()
    }
}

/// A wait in a test that ran out of time: a failure, never a skip.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}
