import Membership
import Testing

@Suite struct MembershipSnapshotTests {
    static let local = Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive, tags: ["role": "lb"])

    static func member(_ name: String, _ status: Member.Status = .alive, apps: String? = nil) -> Member {
        Member(name: name, host: "10.0.0.\(name.utf8.count)", port: 7946, status: status, tags: apps.map { ["apps": $0] } ?? [:])
    }

    @Test func membersTaggedWithAnApplication() {
        let snapshot = MembershipSnapshot(localMember: Self.local).applying([
            .joined(Self.member("b1", apps: "web,api")),
            .joined(Self.member("b2", .suspect, apps: "api")),
            .joined(Self.member("b3", .dead, apps: "api")),
            .joined(Self.member("b4", apps: "apis")),
        ])
        #expect(snapshot.members(taggedWith: "apps", value: "api").map(\.name) == ["b1", "b2"])
        #expect(snapshot.members(taggedWith: "role", value: "lb").map(\.name) == ["lb"])
    }

    @Test func reachability() {
        #expect(Member(name: "a", host: "h", port: 1, status: .alive).isReachable)
        #expect(Member(name: "a", host: "h", port: 1, status: .suspect).isReachable)
        #expect(!Member(name: "a", host: "h", port: 1, status: .dead).isReachable)
        #expect(!Member(name: "a", host: "h", port: 1, status: .left).isReachable)
    }

    @Test func theFirstStateHoldsOnlyThisHost() {
        let snapshot = MembershipSnapshot(localMember: Self.local)
        #expect(snapshot.version == 1)
        #expect(snapshot.members == [Self.local])
        #expect(snapshot.localMember == Self.local)
    }

    @Test func aVersionPerChangeOfStateAndNoneForARepeat() {
        let first = MembershipSnapshot(localMember: Self.local)
        let joined = first.applying([.joined(Self.member("b1")), .joined(Self.member("b2"))])
        #expect(joined.version == 2, "one version for the changes applied together")
        #expect(joined.members.map(\.name) == ["b1", "b2", "lb"], "name order")
        #expect(joined.applying([.updated(Self.member("b1"))]) == joined, "the same member again is no change")
        #expect(joined.applying([MembershipChange]()) == joined)
        let suspect = joined.applying([.updated(Self.member("b1", .suspect))])
        #expect(suspect.version == 3)
        #expect(suspect.member(named: "b1")?.status == .suspect)
        let removed = suspect.applying([.removed(Self.member("b2", .dead))])
        #expect(removed.version == 4)
        #expect(removed.member(named: "b2") == nil, "removal goes by name, whatever the entry's fields")
        #expect(removed.applying([.removed(Self.member("b2"))]) == removed)
    }

    @Test func thisHostStaysInItsOwnView() {
        var retagged = Self.local
        retagged.tags["apps"] = "web"
        let snapshot = MembershipSnapshot(localMember: Self.local).applying([.updated(retagged)])
        #expect(snapshot.localMember == retagged)
        #expect(snapshot.applying([.removed(retagged)]) == snapshot)
    }

    @Test func changesSinceAnOlderSnapshot() {
        let older = MembershipSnapshot(localMember: Self.local).applying([.joined(Self.member("b1")), .joined(Self.member("b2"))])
        let newer = older.applying([.removed(Self.member("b1")), .joined(Self.member("b3")), .updated(Self.member("b2", .suspect))])
        #expect(newer.changes(since: older) == [.updated(Self.member("b2", .suspect)), .joined(Self.member("b3")), .removed(Self.member("b1"))])
        #expect(newer.changes(since: newer).isEmpty)
    }

    /// Seeded random runs of changes, states skipped as a slow subscriber skips them: the difference between the
    /// last state seen and the newest, applied to the last seen, always gives the newest members.
    @Test func changesSinceCarryEverythingASkippedStateChanged() {
        var random: UInt64 = 0x5EED
        func roll(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        let statuses: [Member.Status] = [.alive, .suspect, .dead, .left]
        var seen = MembershipSnapshot(localMember: Self.local)
        var newest = seen
        var catchUps = 0
        for round in 0..<2000 {
            let member = Self.member("m\(roll(12))", statuses[roll(4)], apps: roll(2) == 0 ? nil : "app\(roll(3))")
            let change: MembershipChange = [.joined(member), .updated(member), .removed(member)][roll(3)]
            newest = newest.applying([change])
            if roll(4) == 0 || round == 1999 {
                #expect(seen.applying(newest.changes(since: seen)).members == newest.members)
                seen = newest
                catchUps += 1
            }
        }
        #expect(catchUps > 100)
        #expect(newest.version > 1000, "most random changes changed something")
    }
}
