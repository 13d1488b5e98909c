import Coordination
import Testing

/// The store's side of a lease, decided by store time passed in.
@Suite struct LeaseTests {
    let start = StoreTime(microsecondsSinceEpoch: 1_764_000_000_000_000)

    func granted(_ outcome: Lease.Outcome) -> LeaseGrant? {
        if case .granted(let grant) = outcome { grant } else { nil }
    }

    @Test func freeLeaseIsGrantedAndRenewedWithTheSameToken() {
        var lease = Lease(group: "scheduler")
        let grant = granted(lease.acquire(by: "a", for: .seconds(10), at: start))
        #expect(grant == LeaseGrant(group: "scheduler", holder: "a", token: FencingToken(1), expiresAt: start + .seconds(10), duration: .seconds(10)))
        let renewal = granted(lease.renew(FencingToken(1), by: "a", for: .seconds(10), at: start + .seconds(5)))
        #expect(renewal?.token == FencingToken(1))
        #expect(renewal?.expiresAt == start + .seconds(15))
        #expect(lease.holder(at: start + .seconds(14)) == "a", "renewal extends the lease")
        #expect(lease.holder(at: start + .seconds(15)) == nil)
    }

    @Test func heldLeaseIsRefusedUntilItExpires() {
        var lease = Lease(group: "scheduler")
        _ = lease.acquire(by: "a", for: .seconds(10), at: start)
        #expect(lease.acquire(by: "b", for: .seconds(10), at: start + .seconds(9)) == .held(by: "a", until: start + .seconds(10)))
        #expect(lease.holder(at: start + .seconds(10)) == nil)
        #expect(granted(lease.acquire(by: "b", for: .seconds(10), at: start + .seconds(10)))?.token == FencingToken(2))
        #expect(lease.holder(at: start + .seconds(10)) == "b")
    }

    @Test func releaseFreesTheLeaseAndTheNextHolderGetsANewToken() {
        var lease = Lease(group: "scheduler")
        _ = lease.acquire(by: "a", for: .seconds(10), at: start)
        let byAnother = lease.release(FencingToken(1), by: "b")
        #expect(!byAnother)
        #expect(lease.holder(at: start) == "a", "only the holder can release")
        let withAnotherToken = lease.release(FencingToken(7), by: "a")
        #expect(!withAnotherToken, "nor with another term's token")
        #expect(lease.holder(at: start) == "a")
        let byTheHolder = lease.release(FencingToken(1), by: "a")
        #expect(byTheHolder)
        #expect(lease.holder(at: start) == nil)
        #expect(granted(lease.acquire(by: "a", for: .seconds(10), at: start))?.token == FencingToken(2), "a released token is not reused")
    }

    /// A process restarted under the same name does not know its predecessor's term and must not inherit its token.
    @Test func theHolderByNameIsRefusedANewTermWhileItsOldOneRuns() {
        var lease = Lease(group: "scheduler")
        _ = lease.acquire(by: "a", for: .seconds(10), at: start)
        #expect(lease.acquire(by: "a", for: .seconds(10), at: start + .seconds(1)) == .held(by: "a", until: start + .seconds(10)))
        #expect(lease.token == FencingToken(1))
    }

    @Test func aTermOverCannotBeRenewed() {
        var lease = Lease(group: "scheduler")
        _ = lease.acquire(by: "a", for: .seconds(10), at: start)
        #expect(lease.renew(FencingToken(1), by: "a", for: .seconds(10), at: start + .seconds(10)) == .lost, "expired, even with nobody else waiting")
        #expect(lease.renew(FencingToken(1), by: "b", for: .seconds(10), at: start + .seconds(1)) == .lost, "not the holder")
        #expect(granted(lease.acquire(by: "a", for: .seconds(10), at: start + .seconds(10)))?.token == FencingToken(2))
        #expect(lease.renew(FencingToken(1), by: "a", for: .seconds(10), at: start + .seconds(11)) == .lost, "an older term of the same holder")
        #expect(lease.renew(FencingToken(2), by: "a", for: .seconds(10), at: start + .seconds(11)) != .lost)
        lease.release(FencingToken(2), by: "a")
        #expect(lease.renew(FencingToken(2), by: "a", for: .seconds(10), at: start + .seconds(12)) == .lost, "released")
    }

    @Test func tokensRiseWithEveryTermAndStayWithTheGroup() {
        var lease = Lease(group: "scheduler")
        var tokens: [FencingToken] = []
        var now = start
        for round in 0..<20 {
            let candidate = ["a", "b", "c"][round % 3]
            if let grant = granted(lease.acquire(by: candidate, for: .seconds(3), at: now)) { tokens.append(grant.token) }
            if round.isMultiple(of: 4) { lease.release(lease.token, by: candidate) }
            now = now + .seconds(round.isMultiple(of: 2) ? 1 : 3)
        }
        #expect(tokens.count > 5)
        #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0 < $1 })
        #expect(lease.token == tokens.last)
        let reread = Lease(group: lease.group, holder: lease.holder, expiresAt: lease.expiresAt, token: lease.token)
        #expect(reread == lease, "the row read back is the same lease")
        #expect(Lease(group: "other").token == .none, "another group has its own sequence")
    }
}
