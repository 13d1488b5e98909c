import Membership
import NIOCore
import Plugins
import TestSupport
import Testing

@testable import GossipRole

/// Failed and left members kept in the role's member list as serf keeps them, reaped after their timeouts, and
/// failed ones tried again every `reconnect_interval`.
@Suite struct GossipDepartedMembersTests {
    static func settings(join: [String] = [], bindPort: Int = 0, reconnectTimeout: TimeAmount = .hours(24), reconnectInterval: TimeAmount = .hours(1)) -> GossipSettings {
        var settings = GossipRoleTests.settings(join: join)
        settings.bind = ListenAddress(host: "127.0.0.1", port: bindPort)
        settings.advertisePort = bindPort
        // memberlist reaps dead members from its own table quickly here, so that what stays listed is serf's.
        settings.timings.gossipToTheDeadTime = .milliseconds(300)
        settings.departures = .init(reconnectTimeout: reconnectTimeout, tombstoneTimeout: .hours(24), reconnectInterval: reconnectInterval)
        return settings
    }

    static func listed(_ name: String, at role: GossipRole) async -> NodeEntry? {
        guard let node = role.node else { return nil }
        return await role.listedMembers(of: node).first { $0.name == name }
    }

    @Test func aFailedMemberStaysListedAfterMemberlistReapsIt() async throws {
        let a = try await GossipRoleTests.role("a", Self.settings())
        let port = try #require(a.address?.port)
        let b = try await GossipRoleTests.role("b", Self.settings(join: ["127.0.0.1:\(port)"]))
        let c = try await GossipRoleTests.role("c", Self.settings(join: ["127.0.0.1:\(port)"]))
        try await GossipRoleTests.waitFor("b and c alive at a", in: a.membership) { $0.member(named: "b")?.status == .alive && $0.member(named: "c")?.status == .alive }
        await b.shutdown(grace: .seconds(1))
        await c.drain()
        await c.shutdown(grace: .seconds(1))
        let node = try #require(a.node)
        try await waitUntil("memberlist at a reaped b and c") {
            let table = await node.members().map(\.name)
            return !table.contains("b") && !table.contains("c")
        }
        #expect(await Self.listed("b", at: a)?.state == .dead)
        #expect(await Self.listed("c", at: a)?.state == .left)
        #expect(a.membership.snapshot.member(named: "b")?.status == .dead)
        #expect(a.membership.snapshot.member(named: "c")?.status == .left)
        let status = await a.status()
        #expect(status["members"]?["failed"] == .number(1), "\(status)")
        #expect(status["members"]?["left"] == .number(1), "\(status)")
        await a.shutdown(grace: .seconds(1))
    }

    @Test func aFailedMemberIsReapedAfterTheReconnectTimeout() async throws {
        let a = try await GossipRoleTests.role("a", Self.settings(reconnectTimeout: .seconds(2)))
        let port = try #require(a.address?.port)
        let b = try await GossipRoleTests.role("b", Self.settings(join: ["127.0.0.1:\(port)"]))
        try await GossipRoleTests.waitFor("b alive at a", in: a.membership) { $0.member(named: "b")?.status == .alive }
        await b.shutdown(grace: .seconds(1))
        try await GossipRoleTests.waitFor("b failed at a", in: a.membership) { $0.member(named: "b")?.status == .dead }
        try await GossipRoleTests.waitFor("b reaped at a", in: a.membership) { $0.member(named: "b") == nil }
        #expect(await Self.listed("b", at: a) == nil)
        await a.shutdown(grace: .seconds(1))
    }

    /// serf's reconnect: the failed member restarts at its address without joining anyone (and memberlist here
    /// has already forgotten it); the next reconnect attempt joins it, and it replaces its kept entry.
    @Test func aFailedMemberThatComesBackIsReconnected() async throws {
        let a = try await GossipRoleTests.role("a", Self.settings(reconnectInterval: .milliseconds(500)))
        let port = try #require(a.address?.port)
        let b = try await GossipRoleTests.role("b", Self.settings(join: ["127.0.0.1:\(port)"]))
        let bPort = try #require(b.address?.port)
        try await GossipRoleTests.waitFor("b alive at a", in: a.membership) { $0.member(named: "b")?.status == .alive }
        await b.shutdown(grace: .seconds(1))
        let node = try #require(a.node)
        try await waitUntil("b failed and reaped by memberlist at a") { !(await node.members().contains { $0.name == "b" }) }
        #expect(await Self.listed("b", at: a)?.state == .dead)
        let again = try await GossipRoleTests.role("b", Self.settings(bindPort: bPort))
        try await GossipRoleTests.waitFor("b alive again at a", in: a.membership) { $0.member(named: "b")?.status == .alive }
        #expect(!a.departed.withLock { $0.keeps("b") })
        #expect(await Self.listed("b", at: a)?.state == .alive)
        try await GossipRoleTests.waitFor("a alive at the restarted b", in: again.membership) { $0.member(named: "a")?.status == .alive }
        await again.shutdown(grace: .seconds(1))
        await a.shutdown(grace: .seconds(1))
    }

    /// A real serf agent killed: outrider lists it `failed`, as serf would, after memberlist has reaped it.
    @Test func aKilledSerfAgentStaysListedAsFailed() async throws {
        let a = try await GossipRoleTests.role("o", Self.settings())
        let port = try #require(a.address?.port)
        let serf = try SerfProcess(name: "serf-kept")
        defer { serf.stop() }
        try serf.join("127.0.0.1:\(port)")
        try await GossipRoleTests.waitFor("serf alive at outrider", in: a.membership) { $0.member(named: "serf-kept")?.status == .alive }
        serf.kill()
        try await GossipRoleTests.waitFor("serf failed at outrider", in: a.membership, timeout: .seconds(30)) { $0.member(named: "serf-kept")?.status == .dead }
        let node = try #require(a.node)
        try await waitUntil("memberlist at outrider reaped serf") { !(await node.members().contains { $0.name == "serf-kept" }) }
        #expect(await Self.listed("serf-kept", at: a)?.state == .dead)
        #expect(a.membership.snapshot.member(named: "serf-kept")?.status == .dead)
        await a.shutdown(grace: .seconds(1))
    }
}
