import Testing

@testable import Plugins

/// The host's operations one at a time, the drain before any stop, and the daemon's stop winning over a reload.
@Suite struct RoleHostLifecycleTests {
    /// The drain and stop events of the log, in order.
    func endings(_ log: EventLog) -> [String] {
        log.all.filter { $0.hasPrefix("drain ") || $0.hasPrefix("stop ") }
    }

    @Test func everyRoleIsDrainedUsersFirstBeforeAnyStops() async throws {
        let fixture = HostFixture()
        let services = try await fixture.host.start(try fixture.roles("roles:\n  consumer: {}\n  provider: {}\n  plain: {}\n"))
        try await fixture.withRunningGroup(services) { _ in }
        let endings = endings(fixture.log)
        #expect(Array(endings.prefix(3)) == ["drain consumer", "drain provider", "drain plain"])
        #expect(Set(endings.dropFirst(3)) == ["stop consumer", "stop provider", "stop plain"])
    }

    /// Roles started by a reload join the group last, so its shutdown reaches them first: they still wait for the
    /// drain of every role.
    @Test func rolesAddedByAReloadAreDrainedWithTheOthersBeforeAnyStops() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain: {}\n"))
        try await fixture.withRunningGroup(services) { _ in
            let outcome = await host.reload(try fixture.roles("roles:\n  plain: {}\n  provider: {}\n  consumer: {}\n"), shutdownGrace: .seconds(2))
            #expect(Set(outcome.started) == ["provider", "consumer"])
        }
        let endings = endings(fixture.log)
        #expect(Array(endings.prefix(3)) == ["drain consumer", "drain provider", "drain plain"])
        #expect(endings.count == 6)
        let consumerStop = try #require(endings.firstIndex(of: "stop consumer"))
        let providerStop = try #require(endings.firstIndex(of: "stop provider"))
        #expect(consumerStop < providerStop)
    }

    @Test func aRoleARemovalStopsIsDrainedFirst() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain: {}\n  provider: {}\n"))
        try await fixture.withRunningGroup(services) { _ in
            let outcome = await host.reload(try fixture.roles("roles:\n  plain: {}\n"), shutdownGrace: .seconds(2))
            #expect(outcome.stopped == ["provider"])
            #expect(endings(fixture.log) == ["drain provider", "stop provider"])
        }
    }

    @Test func reloadsRunOneAtATimeInTheOrderAsked() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let hold = Hold()
        fixture.provider.hooks.whileReconfiguring = hold.hook
        let services = try await host.start(try fixture.roles("roles:\n  provider:\n    greeting: a\n"))
        try await fixture.withRunningGroup(services) { _ in
            let changed = try fixture.roles("roles:\n  provider:\n    greeting: b\n")
            let changedAndMore = try fixture.roles("roles:\n  provider:\n    greeting: b\n  plain: {}\n")
            async let first = host.reload(changed, shutdownGrace: .seconds(2))
            await hold.reached()
            async let second = host.reload(changedAndMore, shutdownGrace: .seconds(2))
            try await waitUntil { await host.operationsWaiting == 1 }
            #expect(fixture.log.matching("start plain").isEmpty, "the second reload waits for the first")
            hold.release()
            let (firstOutcome, secondOutcome) = await (first, second)
            #expect(firstOutcome.reconfigured == ["provider"])
            // Had the second run inside the first, it would have found the old settings and reconfigured again.
            #expect(secondOutcome.unchanged == ["provider"])
            #expect(secondOutcome.started == ["plain"])
            #expect(fixture.log.matching("reconfigure") == ["reconfigure provider"])
        }
    }

    @Test func aShutdownDuringAReloadWinsAndNothingMoreStarts() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let hold = Hold()
        fixture.provider.hooks.whileStarting = hold.hook
        let services = try await host.start(try fixture.roles("roles:\n  plain: {}\n"))
        try await fixture.withRunningGroup(services) { group in
            let next = try fixture.roles("roles:\n  plain: {}\n  provider: {}\n  consumer: {}\n")
            async let reloaded = host.reload(next, shutdownGrace: .seconds(2))
            await hold.reached()
            await group.triggerGracefulShutdown()
            try await waitUntil { host.isDraining }
            hold.release()
            let outcome = await reloaded
            #expect(outcome.failures == [.daemonStopping])
            #expect(outcome.started.isEmpty)
        }
        #expect(fixture.consumer.latest == nil, "nothing is built once the stop has begun")
        // The role whose start was under way is stopped at once, not handed to the group that is shutting down.
        #expect(fixture.log.all == ["start plain", "start provider", "drain provider", "stop provider", "drain plain", "stop plain"])
        #expect(await fixture.state(of: "provider") == .stopped)
        #expect(await fixture.state(of: "plain") == .stopped)
    }

    @Test func aRoleFailingWhileItTakesNewSettingsKeepsItsDeclaration() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain:\n    greeting: a\n"))
        try await fixture.withRunningGroup(services) { _ in
            fixture.plain.hooks.whileReconfiguring = { [host] role in
                role.fail("broke while reconfiguring")
                try? await waitUntil {
                    await host.reports().first { $0.name == "plain" }?.state == .failed("broke while reconfiguring")
                }
            }
            let changed = try fixture.roles("roles:\n  plain:\n    greeting: b\n")
            let outcome = await host.reload(changed, shutdownGrace: .seconds(2))
            #expect(outcome.failures == [.failedWhileReconfiguring(role: "plain")])
            #expect(outcome.reconfigured.isEmpty)
            #expect(await fixture.state(of: "plain") == .failed("broke while reconfiguring"))

            // The same file again: the failed role's old declaration was kept, so it is restarted, not "unchanged".
            fixture.plain.hooks.whileReconfiguring = nil
            let again = await host.reload(changed, shutdownGrace: .seconds(2))
            #expect(again.restarted == ["plain"])
            #expect(await fixture.state(of: "plain") == .running)
            #expect(fixture.plain.latest?.settings.greeting == "b")
        }
    }

    /// A service handed to a group whose shutdown has begun is dropped by the group: its role must still stop.
    @Test func rolesWhoseServiceNeverRanAreStoppedWhenTheGroupHasEnded() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        _ = try await host.start(try fixture.roles("roles:\n  plain: {}\n"))
        await host.setServiceSink { _ in }
        let outcome = await host.reload(try fixture.roles("roles:\n  plain: {}\n  provider: {}\n"), shutdownGrace: .seconds(2))
        #expect(outcome.started == ["provider"])
        await host.stopRolesLeftRunning()
        #expect(endings(fixture.log) == ["drain provider", "drain plain", "stop provider", "stop plain"])
        #expect(await host.reports().map(\.state) == [.stopped, .stopped])
    }
}
