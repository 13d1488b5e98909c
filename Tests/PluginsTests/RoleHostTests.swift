import NIOCore
import NIOPosix
import Plugins
import Testing

/// The plugin contract, end to end through the host and a real `ServiceGroup`.
@Suite struct RoleHostTests {
    @Test func rolesStartInCapabilityOrderAndStopInReverse() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  consumer: {}\n  provider:\n    greeting: hola\n  plain: {}\n"))
        #expect(fixture.log.matching("start") == ["start plain", "start provider", "start consumer"])
        #expect(fixture.consumer.latest?.seenCapabilities[.greeting] == "hola", "the consumer sees the provider's capability at start")
        try await fixture.withRunningGroup(services) { _ in
            let reports = await host.reports()
            #expect(reports.map(\.state) == [.running, .running, .running])
            #expect(reports.first { $0.name == "provider" }?.status?["greeting"] == "hola")
        }
        let stops = fixture.log.matching("stop")
        let consumerStop = try #require(stops.firstIndex(of: "stop consumer"))
        let providerStop = try #require(stops.firstIndex(of: "stop provider"))
        #expect(consumerStop < providerStop, "\(stops)")
        #expect(stops.count == 3)
        #expect(await host.reports().map(\.state) == [.stopped, .stopped, .stopped])
    }

    @Test func disabledRoleIsReportedAndNotStarted() async throws {
        let fixture = HostFixture()
        let services = try await fixture.host.start(try fixture.roles("roles:\n  plain:\n    enabled: false\n"))
        #expect(services.isEmpty)
        #expect(fixture.log.all.isEmpty)
        #expect(await fixture.host.reports().map(\.state) == [.disabled])
    }

    @Test func startFailureStopsTheRolesAlreadyStarted() async throws {
        let fixture = HostFixture()
        let roles = try fixture.roles("roles:\n  plain: {}\n  provider:\n    fail_start: true\n")
        await #expect {
            _ = try await fixture.host.start(roles)
        } throws: { error in
            (error as? RoleStartFailure)?.description == "role provider failed to start: told to fail"
        }
        #expect(fixture.log.all == ["start plain", "fail-start provider", "drain plain", "stop plain"])
    }

    @Test func reloadLeavesUnchangedRolesAndTheirConnectionsAlone() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain:\n    bind: true\n  provider:\n    greeting: a\n"))
        let plainRole = try #require(fixture.plain.latest)
        let port = try #require(plainRole.localPort)
        try await fixture.withRunningGroup(services) { _ in
            // An established connection to the unaffected role keeps working across the reload.
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LineCollector()) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            defer { client.close(promise: nil) }

            let second = try fixture.roles("roles:\n  plain:\n    bind: true\n  provider:\n    greeting: b\n  consumer: {}\n")
            let outcome = await host.reload(second, shutdownGrace: .seconds(2))
            #expect(outcome.unchanged == ["plain"])
            #expect(outcome.reconfigured == ["provider"])
            #expect(outcome.started == ["consumer"])
            #expect(outcome.succeeded)
            #expect(fixture.plain.latest === plainRole, "an unchanged role is not rebuilt")
            #expect(!fixture.log.all.contains("stop plain"))
            #expect(fixture.provider.latest?.settings.greeting == "b")

            try await client.writeAndFlush(ByteBuffer(string: "ping\n")).get()
            let echoed = try await client.pipeline.handler(type: LineCollector.self).get().nextLine()
            #expect(echoed == "ping")

            // Unchanged file: nothing is touched at all.
            let events = fixture.log.all.count
            let again = await host.reload(second, shutdownGrace: .seconds(2))
            #expect(Set(again.unchanged) == ["plain", "provider", "consumer"])
            #expect(fixture.log.all.count == events)
        }
    }

    @Test func reloadRemovesRestartsAndNotifiesCapabilityUsers() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  consumer: {}\n  provider:\n    greeting: a\n    restart_on_change: true\n"))
        try await fixture.withRunningGroup(services) { _ in
            let oldProvider = try #require(fixture.provider.latest)
            let outcome = await host.reload(
                try fixture.roles("roles:\n  consumer: {}\n  provider:\n    greeting: b\n    restart_on_change: true\n"),
                shutdownGrace: .seconds(2)
            )
            #expect(outcome.restarted == ["provider"])
            #expect(fixture.provider.latest !== oldProvider)
            // The consumer keeps running through its provider's restart and hears of the new provider.
            #expect(fixture.log.matching("stop") == ["stop provider"])
            #expect(fixture.log.matching("start") == ["start provider", "start consumer", "start provider"])
            #expect(fixture.consumer.latest?.seenCapabilities[.greeting] == "b")

            let removal = await host.reload(try fixture.roles("roles:\n  consumer: {}\n"), shutdownGrace: .seconds(2))
            #expect(removal.stopped == ["provider"])
            #expect(fixture.consumer.latest?.seenCapabilities[.greeting] == nil, "the consumer hears its provider is gone")
            #expect(await host.reports().map(\.name) == ["consumer"])
        }
    }

    @Test func roleFailingLaterIsReportedWhileOthersKeepRunning() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain: {}\n  provider: {}\n"))
        try await fixture.withRunningGroup(services) { _ in
            fixture.plain.latest?.fail("disk on fire")
            try await waitUntil { await fixture.state(of: "plain") == .failed("disk on fire") }
            #expect(await fixture.state(of: "provider") == .running)
            #expect(try fixture.metrics.expectGauge("outrider_role_up", [("role", "plain")]).lastValue == 0)
            #expect(try fixture.metrics.expectCounter("outrider_role_failures_total", [("role", "plain")]).totalValue == 1)
            #expect(try fixture.metrics.expectGauge("outrider_role_up", [("role", "provider")]).lastValue == 1)

            // A reload that changes the failed role's section starts it again.
            let outcome = await host.reload(try fixture.roles("roles:\n  plain:\n    greeting: again\n  provider: {}\n"), shutdownGrace: .seconds(2))
            #expect(outcome.restarted == ["plain"])
            #expect(await fixture.state(of: "plain") == .running)
        }
    }

    @Test func drainingIsVisibleAndRefusesReloads() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain: {}\n"))
        try await fixture.withRunningGroup(services) { _ in
            #expect(!host.isDraining)
            host.beginShutdown()
            #expect(host.isDraining)
            let outcome = await host.reload(try fixture.roles("roles:\n  provider: {}\n"), shutdownGrace: .seconds(1))
            #expect(outcome.failures == [.daemonStopping])
            #expect(fixture.log.matching("start provider").isEmpty)
        }
    }

    @Test func adminRoutesFollowTheRoleLifetime() async throws {
        let fixture = HostFixture()
        let services = try await fixture.host.start(try fixture.roles("roles:\n  plain:\n    greeting: yo\n"))
        try await fixture.withRunningGroup(services) { _ in
            guard case .found(let handler) = fixture.routes.lookup(role: "plain", method: .GET, path: "/greeting") else {
                Issue.record("route missing")
                return
            }
            let response = try await handler(AdminRequest(method: .GET, path: "/greeting", query: nil, headers: [:], body: ByteBuffer()))
            #expect(String(buffer: response.body) == "yo")
            guard case .methodNotAllowed = fixture.routes.lookup(role: "plain", method: .POST, path: "/greeting") else {
                Issue.record("POST should be refused")
                return
            }
            _ = await fixture.host.reload([], shutdownGrace: .seconds(1))
            guard case .notFound = fixture.routes.lookup(role: "plain", method: .GET, path: "/greeting") else {
                Issue.record("route should go with the role")
                return
            }
        }
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
