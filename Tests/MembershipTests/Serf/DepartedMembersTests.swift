import NIOCore
import Testing

@testable import Membership

/// serf's failed and left members (`serf.go`: `handleNodeLeave`, `reap`, `reconnect`) with a manual clock.
@Suite struct DepartedMembersTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let timeouts = DepartedMembers.Timeouts(reconnectTimeout: .seconds(60), tombstoneTimeout: .seconds(30), reconnectInterval: .seconds(5))

    static func entry(_ name: String, _ state: NodeEntry.State, incarnation: UInt32 = 1) -> NodeEntry {
        NodeEntry(name: name, address: NodeAddress(host: "10.0.0.\(name.utf8.count)", port: 7946), meta: [], incarnation: incarnation, state: state, stateChange: start, versions: nil)
    }

    @Test func serfsDefaultsAreADayADayAndThirtySeconds() {
        #expect(DepartedMembers.Timeouts.serf.reconnectTimeout == .hours(24))
        #expect(DepartedMembers.Timeouts.serf.tombstoneTimeout == .hours(24))
        #expect(DepartedMembers.Timeouts.serf.reconnectInterval == .seconds(30))
    }

    @Test func aFailedMemberIsKeptForTheReconnectTimeoutAndALeftOneForTheTombstoneTimeout() {
        var table = DepartedMembers(timeouts: Self.timeouts, now: Self.start)
        var random = SeededRandom(seed: 1)
        table.update(Self.entry("failed", .dead), now: Self.start)
        table.update(Self.entry("left", .left), now: Self.start + .seconds(1))
        table.update(Self.entry("alive", .alive), now: Self.start)
        #expect(table.entries.map(\.name) == ["failed", "left"])
        // Exactly at the timeout the member stays (serf reaps when more than the timeout has passed).
        var outcome = table.tick(now: Self.start + .seconds(31), members: 5, random: &random)
        #expect(outcome.reaped.isEmpty)
        outcome = table.tick(now: Self.start + .seconds(31) + .milliseconds(1), members: 5, random: &random)
        #expect(outcome.reaped.map(\.name) == ["left"])
        #expect(table.keeps("failed") && !table.keeps("left"))
        outcome = table.tick(now: Self.start + .seconds(60), members: 4, random: &random)
        #expect(outcome.reaped.isEmpty)
        outcome = table.tick(now: Self.start + .seconds(61), members: 4, random: &random)
        #expect(outcome.reaped.map(\.name) == ["failed"])
        #expect(table.entries.isEmpty)
    }

    @Test func theTimeCountsFromTheFirstReportOfTheState() {
        var table = DepartedMembers(timeouts: Self.timeouts, now: Self.start)
        var random = SeededRandom(seed: 1)
        table.update(Self.entry("b", .dead), now: Self.start)
        // memberlist reports it again (a newer incarnation of its death): still failed since the start.
        table.update(Self.entry("b", .dead, incarnation: 2), now: Self.start + .seconds(20))
        #expect(table.entries.first?.incarnation == 2)
        #expect(table.tick(now: Self.start + .seconds(61), members: 3, random: &random).reaped.map(\.name) == ["b"])
        // A failed member that then leaves starts its tombstone time when it left.
        table.update(Self.entry("c", .dead), now: Self.start)
        table.update(Self.entry("c", .left), now: Self.start + .seconds(50))
        #expect(table.tick(now: Self.start + .seconds(79), members: 3, random: &random).reaped.isEmpty)
        #expect(table.tick(now: Self.start + .seconds(81), members: 3, random: &random).reaped.map(\.name) == ["c"])
    }

    @Test func aMemberBackAliveLeavesTheTable() {
        var table = DepartedMembers(timeouts: Self.timeouts, now: Self.start)
        table.update(Self.entry("b", .dead), now: Self.start)
        #expect(table.keeps("b"))
        table.update(Self.entry("b", .alive, incarnation: 2), now: Self.start + .seconds(3))
        #expect(!table.keeps("b"))
        table.update(Self.entry("c", .left), now: Self.start)
        table.update(Self.entry("c", .suspect, incarnation: 3), now: Self.start + .seconds(3))
        #expect(table.entries.isEmpty)
    }

    @Test func aFailedMemberIsTriedAgainOncePerIntervalWhenItIsTheOnlyOne() {
        var table = DepartedMembers(timeouts: Self.timeouts, now: Self.start)
        var random = SeededRandom(seed: 7)
        table.update(Self.entry("b", .dead), now: Self.start)
        table.update(Self.entry("gone", .left), now: Self.start)
        // Three members: this one, b failed, one left. Alive: 3 - 1 - 1 = 1, so the probability is 1.
        #expect(table.tick(now: Self.start + .seconds(4), members: 3, random: &random).reconnect == nil)
        #expect(table.tick(now: Self.start + .seconds(5), members: 3, random: &random).reconnect?.name == "b")
        #expect(table.nextDeadline == Self.start + .seconds(10))
        #expect(table.tick(now: Self.start + .seconds(6), members: 3, random: &random).reconnect == nil)
        #expect(table.tick(now: Self.start + .seconds(10), members: 3, random: &random).reconnect?.name == "b")
    }

    @Test func withManyAliveMembersEachTriesWithProbabilityFailedOverAlive() {
        var table = DepartedMembers(timeouts: .init(reconnectTimeout: .hours(24), tombstoneTimeout: .hours(24), reconnectInterval: .seconds(5)), now: Self.start)
        var random = SeededRandom(seed: 11)
        table.update(Self.entry("b", .dead), now: Self.start)
        table.update(Self.entry("cc", .dead), now: Self.start)
        // 22 members, 2 failed: 20 alive, so a try in about 1 interval of 10.
        var tries: [String: Int] = [:]
        var now = Self.start
        for _ in 0..<2000 {
            now = now + .seconds(5)
            if let target = table.tick(now: now, members: 22, random: &random).reconnect { tries[target.name, default: 0] += 1 }
        }
        let total = tries.values.reduce(0, +)
        #expect((120...280).contains(total), "\(total) tries in 2000 intervals")
        #expect((40...160).contains(tries["b"] ?? 0) && (40...160).contains(tries["cc"] ?? 0), "\(tries)")
    }

    @Test func noReconnectWithoutAFailedMember() {
        var table = DepartedMembers(timeouts: Self.timeouts, now: Self.start)
        var random = SeededRandom(seed: 3)
        table.update(Self.entry("gone", .left), now: Self.start)
        #expect(table.tick(now: Self.start + .seconds(5), members: 2, random: &random).reconnect == nil)
    }
}
