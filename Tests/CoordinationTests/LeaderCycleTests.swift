import Coordination
import Testing

/// The member's lease cycle with a manual clock: acquire, renew every lease/3, fence by the deadline, release.
@Suite struct LeaderCycleTests {
    let start = ContinuousClock.Instant.now
    let storeNow = StoreTime(microsecondsSinceEpoch: 1_764_000_000_000_000)

    func grant(_ token: UInt64, for lease: Duration = .seconds(3)) -> LeaseGrant {
        LeaseGrant(group: "g", holder: "a", token: FencingToken(token), expiresAt: storeNow + lease, duration: lease)
    }

    @Test func acquiresAtOnceThenRenewsEveryThirdOfTheLease() {
        var cycle = LeaderCycle(lease: .seconds(3), now: start)
        let value1 = cycle.next(at: start)
        #expect(value1 == .acquire)
        let value2 = cycle.next(at: start)
        #expect(value2 == .awaitAnswer, "one request at a time")
        let held = cycle.granted(grant(1), at: start + .milliseconds(20))
        #expect(held?.token == FencingToken(1))
        #expect(cycle.isLeader(at: start + .milliseconds(20)))
        let value3 = cycle.next(at: start + .milliseconds(500))
        #expect(value3 == .wait(until: start + .seconds(1)))
        let value4 = cycle.next(at: start + .seconds(1))
        #expect(value4 == .renew(FencingToken(1)))
        // The renewal's term counts from its send at 1 s.
        cycle.granted(grant(1), at: start + .milliseconds(1100))
        #expect(cycle.held(at: start + .seconds(2))?.deadline == start + .seconds(1) + .seconds(3) * 0.999 - .milliseconds(500))
        let value5 = cycle.next(at: start + .seconds(2))
        #expect(value5 == .renew(FencingToken(1)))
    }

    @Test func aLeaderWhoseRenewalsFailFencesItselfAtTheDeadline() {
        var cycle = LeaderCycle(lease: .seconds(3), now: start)
        _ = cycle.next(at: start)
        cycle.granted(grant(4), at: start)
        let deadline = cycle.held(at: start)!.deadline!
        var now = start + .seconds(1)
        while now < deadline - .milliseconds(1) {
            if case .renew = cycle.next(at: now) { cycle.failed(at: now) }
            #expect(cycle.isLeader(at: now), "still within the term at \(now - start)")
            now += .milliseconds(100)
        }
        // The renewal under way when the deadline passes does not keep the member leader.
        _ = cycle.next(at: deadline - .milliseconds(1))
        #expect(!cycle.isLeader(at: deadline))
        cycle.failed(at: deadline)
        #expect(!cycle.isLeader(at: deadline))
        let value6 = cycle.next(at: deadline + .seconds(1))
        #expect(value6 == .acquire)
    }

    @Test func aRefusedFollowerPollsAndAReleaseNoticeMakesItAskAtOnce() {
        var cycle = LeaderCycle(lease: .seconds(3), now: start)
        _ = cycle.next(at: start)
        cycle.refused(at: start)
        #expect(!cycle.isLeader(at: start))
        let value7 = cycle.next(at: start + .milliseconds(10))
        #expect(value7 == .wait(until: start + .seconds(1)))
        cycle.leaseReleased(at: start + .milliseconds(10))
        let value8 = cycle.next(at: start + .milliseconds(10))
        #expect(value8 == .acquire)
    }

    /// The notice can overtake the refusal of an acquire sent before the release: the refusal is then no reason
    /// to wait a whole poll.
    @Test func aReleaseNoticeDuringAnAcquireMakesTheNextAttemptImmediate() {
        var cycle = LeaderCycle(lease: .seconds(3), now: start)
        _ = cycle.next(at: start)
        cycle.leaseReleased(at: start + .milliseconds(5))
        cycle.refused(at: start + .milliseconds(10))
        let step = cycle.next(at: start + .milliseconds(10))
        #expect(step == .acquire)
        // Only that once.
        cycle.refused(at: start + .milliseconds(20))
        let later = cycle.next(at: start + .milliseconds(20))
        #expect(later == .wait(until: start + .milliseconds(20) + .seconds(1)))
    }

    @Test func aLostTermIsAskedForAgainAtOnceWithNoLeadershipMeanwhile() {
        var cycle = LeaderCycle(lease: .seconds(3), now: start)
        _ = cycle.next(at: start)
        cycle.granted(grant(1), at: start)
        _ = cycle.next(at: start + .seconds(1))
        cycle.lost(at: start + .seconds(1))
        #expect(!cycle.isLeader(at: start + .seconds(1)))
        let value9 = cycle.next(at: start + .seconds(1))
        #expect(value9 == .acquire)
    }

    @Test func stoppingReleasesTheTermHeldAndNothingOtherwise() {
        var leader = LeaderCycle(lease: .seconds(3), now: start)
        _ = leader.next(at: start)
        leader.granted(grant(9), at: start)
        let value10 = leader.stop()
        #expect(value10 == FencingToken(9))
        let value11 = leader.next(at: start + .seconds(10))
        #expect(value11 == .stopped)
        #expect(!leader.isLeader(at: start))

        var follower = LeaderCycle(lease: .seconds(3), now: start)
        let value12 = follower.stop()
        #expect(value12 == nil)
    }

    @Test func aGrantTooShortForTheAllowancesIsNotLed() {
        var cycle = LeaderCycle(lease: .milliseconds(400), now: start)
        _ = cycle.next(at: start)
        let value13 = cycle.granted(grant(1, for: .milliseconds(400)), at: start)
        #expect(value13 == nil)
        #expect(!cycle.isLeader(at: start))
    }

    /// Against the store's own rules (``Lease``) on one manual clock shared by both sides: two members cycling
    /// with random delays and failures are never leaders at the same instant, and tokens only grow.
    @Test func twoMembersAreNeverLeadersAtOnce() {
        var generator = SystemRandomNumberGenerator()
        var lease = Lease(group: "g")
        let names = ["a", "b"]
        let term = Duration.seconds(2)
        var cycles = names.map { _ in LeaderCycle(lease: term, now: start) }
        var now = start
        var lastToken = FencingToken.none
        for _ in 0..<5000 {
            now += .milliseconds(Int.random(in: 1...120, using: &generator))
            for index in cycles.indices {
                let storeNow = self.storeNow + (now - start)
                switch cycles[index].next(at: now) {
                case .acquire, .renew:
                    if Int.random(in: 0..<3, using: &generator) == 0 { cycles[index].failed(at: now); continue }
                    let held = cycles[index].held(at: now)
                    let answer = held.map { lease.renew($0.token, by: names[index], for: term, at: storeNow) }
                        ?? lease.acquire(by: names[index], for: term, at: storeNow)
                    switch answer {
                    case .granted(let grant):
                        #expect(grant.token >= lastToken)
                        lastToken = grant.token
                        cycles[index].granted(grant, at: now)
                    case .held: cycles[index].refused(at: now)
                    case .lost: cycles[index].lost(at: now)
                    }
                default: break
                }
            }
            #expect(cycles.filter { $0.isLeader(at: now) }.count <= 1, "at \(now - start)")
        }
        #expect(lastToken > FencingToken(1), "leadership changed hands")
    }
}
