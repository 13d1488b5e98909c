import CoreMetrics
import Logging
import Membership
import NIOCore
import NIOPosix
import Plugins
import Testing

@testable import GossipRole

/// The gossip role as the host drives it, two or three members on loopback: the membership capability's change
/// stream, tags and keys changed by a reload in place, and what needs a restart.
@Suite struct GossipRoleTests {
    static func settings(join: [String] = [], tags: [String: String] = [:], keys: [[UInt8]] = []) -> GossipSettings {
        var settings = GossipSettings()
        settings.bind = ListenAddress(host: "127.0.0.1", port: 0)
        settings.advertiseHost = "127.0.0.1"
        settings.advertisePort = 0
        settings.profile = .local
        var timings = SWIMConfiguration(profile: .local)
        timings.probeInterval = .milliseconds(200)
        timings.probeTimeout = .milliseconds(100)
        settings.timings = timings
        settings.join = join
        settings.tags = tags
        settings.keys = keys
        settings.leaveTimeout = .seconds(2)
        return settings
    }

    static func role(_ name: String, _ settings: GossipSettings, metrics: any MetricsFactory = NOOPMetricsHandler.instance) async throws -> GossipRole {
        let context = RoleContext(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            metrics: metrics,
            logger: Logger(label: "test"),
            node: NodeIdentity(name: name, version: "0"),
            admin: AdminRouteTable().routes(for: "gossip"),
            capabilities: Capabilities(),
            shutdownGrace: .seconds(1)
        )
        let role = try #require(try await GossipRolePlugin().makeRole(settings: settings, context: context) as? GossipRole)
        try await role.start()
        return role
    }

    /// Follows `view`'s change stream until `condition` holds for a snapshot.
    static func waitFor(_ what: String, in view: any MembershipView, timeout: Duration = .seconds(10), _ condition: @escaping @Sendable (MembershipSnapshot) -> Bool) async throws {
        let found = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await snapshot in view.snapshots() where condition(snapshot) { return true }
                return false
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(found, "timed out waiting for \(what): \(view.snapshot.members)")
    }

    @Test func theChangeStreamFollowsAJoinATagChangeAndACrash() async throws {
        let a = try await Self.role("a", Self.settings(tags: ["role": "lb"]))
        let port = try #require(a.address?.port)
        let b = try await Self.role("b", Self.settings(join: ["127.0.0.1:\(port)"], tags: ["role": "backend"]))
        try await Self.waitFor("b alive at a", in: a.membership) { $0.member(named: "b")?.status == .alive && $0.member(named: "b")?.tags == ["role": "backend"] }
        try await Self.waitFor("a alive at b with its tags", in: b.membership) { $0.member(named: "a")?.tags == ["role": "lb"] }

        #expect(try await b.reconfigure(to: Self.settings(join: ["127.0.0.1:\(port)"], tags: ["role": "backend", "apps": "web"])) == .applied)
        try await Self.waitFor("b's new tags at a", in: a.membership) { $0.member(named: "b")?.tags == ["role": "backend", "apps": "web"] }
        var otherProfile = Self.settings(join: ["127.0.0.1:\(port)"])
        otherProfile.profile = .lan
        #expect(try await b.reconfigure(to: otherProfile) == .restartRequired)

        // A crash: the sockets close without a word.
        await b.shutdown(grace: .seconds(1))
        try await Self.waitFor("b dead at a", in: a.membership) { $0.member(named: "b")?.status == .dead }
        let status = await a.status()
        #expect(status["members"]?["failed"] == .number(1), "\(status)")
        await a.shutdown(grace: .seconds(1))
    }

    @Test func drainLeavesGracefully() async throws {
        let a = try await Self.role("a", Self.settings())
        let port = try #require(a.address?.port)
        let b = try await Self.role("b", Self.settings(join: ["127.0.0.1:\(port)"]))
        try await Self.waitFor("b alive", in: a.membership) { $0.member(named: "b")?.status == .alive }
        await b.drain()
        await b.shutdown(grace: .seconds(1))
        try await Self.waitFor("b left", in: a.membership) { $0.member(named: "b")?.status == .left }
        await a.shutdown(grace: .seconds(1))
    }

    @Test func keysRotateOnReloadWithoutLeaving() async throws {
        let old = Array(repeating: UInt8(1), count: 32)
        let new = Array(repeating: UInt8(2), count: 32)
        let a = try await Self.role("a", Self.settings(keys: [old]))
        let port = try #require(a.address?.port)
        let join = ["127.0.0.1:\(port)"]
        let b = try await Self.role("b", Self.settings(join: join, keys: [old]))
        try await Self.waitFor("b alive", in: a.membership) { $0.member(named: "b")?.status == .alive }
        // Add the new key everywhere, make it primary everywhere, then remove the old one.
        for keys in [[old, new], [new, old], [new]] {
            #expect(try await a.reconfigure(to: Self.settings(keys: keys)) == .applied)
            #expect(try await b.reconfigure(to: Self.settings(join: join, keys: keys)) == .applied)
        }
        // A member holding only the new key joins, and b, rotated with a, is still heard.
        let c = try await Self.role("c", Self.settings(join: join, keys: [new]))
        try await Self.waitFor("c alive at a", in: a.membership) { $0.member(named: "c")?.status == .alive }
        try await Self.waitFor("b still alive at a", in: a.membership) { $0.member(named: "b")?.status == .alive }
        #expect(try await a.reconfigure(to: Self.settings()) == .restartRequired)
        for role in [a, b, c] { await role.shutdown(grace: .seconds(1)) }
    }
}
