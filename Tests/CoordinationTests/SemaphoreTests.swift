import Coordination
import Testing

@Suite struct SemaphoreTests {
    let t0 = StoreTime(microsecondsSinceEpoch: 1_764_000_000_000_000)

    @Test func neverMoreHoldersThanTheLimitAndAnExpiredSlotIsFree() {
        var semaphore = Semaphore(name: "s", limit: 2)
        guard case .granted(let a) = semaphore.acquire(by: "a", limit: 2, ttl: .seconds(10), at: t0) else { Issue.record("a"); return }
        guard case .granted(let b) = semaphore.acquire(by: "b", limit: 2, ttl: .seconds(5), at: t0) else { Issue.record("b"); return }
        #expect(b.token > a.token)
        let value1 = semaphore.acquire(by: "c", limit: 2, ttl: .seconds(10), at: t0 + .seconds(1))
        #expect(value1 == .full)
        // b neither refreshes nor releases: its slot is free after its ttl.
        guard case .granted(let c) = semaphore.acquire(by: "c", limit: 2, ttl: .seconds(10), at: t0 + .seconds(5)) else { Issue.record("c"); return }
        #expect(c.token > b.token)
        #expect(semaphore.holders(at: t0 + .seconds(5)).map(\.holder) == ["a", "c"])
        let value2 = semaphore.refresh(by: "b", ttl: .seconds(5), at: t0 + .seconds(6))
        #expect(value2 == .notHolder)
    }

    @Test func aHolderAcquiringAgainKeepsItsSlotAndToken() {
        var semaphore = Semaphore(name: "s", limit: 1)
        guard case .granted(let first) = semaphore.acquire(by: "a", limit: 1, ttl: .seconds(1), at: t0) else { Issue.record("a"); return }
        guard case .granted(let again) = semaphore.acquire(by: "a", limit: 1, ttl: .seconds(1), at: t0 + .milliseconds(900)) else { Issue.record("again"); return }
        #expect(again.token == first.token)
        #expect(again.expiresAt == t0 + .milliseconds(1900))
        #expect(semaphore.slots.count == 1)
    }

    @Test func anotherLimitIsAConflictAndReleaseFreesTheSlot() {
        var semaphore = Semaphore(name: "s", limit: 1)
        let value3 = semaphore.acquire(by: "a", limit: 3, ttl: .seconds(1), at: t0)
        #expect(value3 == .limitMismatch(existing: 1))
        _ = semaphore.acquire(by: "a", limit: 1, ttl: .seconds(30), at: t0)
        let value4 = semaphore.acquire(by: "b", limit: 1, ttl: .seconds(30), at: t0)
        #expect(value4 == .full)
        let value5 = semaphore.release(by: "a")
        #expect(value5)
        let value6 = semaphore.release(by: "a")
        #expect(!value6)
        guard case .granted = semaphore.acquire(by: "b", limit: 1, ttl: .seconds(30), at: t0) else { Issue.record("b"); return }
    }

    /// Random acquires, refreshes, releases and waits: the unexpired holders never exceed the limit, and tokens
    /// of new grants only grow.
    @Test func randomChurnStaysWithinTheLimit() {
        var generator = SystemRandomNumberGenerator()
        var semaphore = Semaphore(name: "s", limit: 3)
        var now = t0
        var lastToken = FencingToken.none
        for _ in 0..<10_000 {
            now = now + .milliseconds(Int.random(in: 0...300, using: &generator))
            let holder = "h\(Int.random(in: 0..<8, using: &generator))"
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                let before = semaphore.slots.contains { $0.holder == holder && now < $0.expiresAt }
                if case .granted(let slot) = semaphore.acquire(by: holder, limit: 3, ttl: .seconds(1), at: now), !before {
                    #expect(slot.token > lastToken)
                    lastToken = slot.token
                }
            case 1: _ = semaphore.refresh(by: holder, ttl: .seconds(1), at: now)
            default: semaphore.release(by: holder)
            }
            #expect(semaphore.holders(at: now).count <= 3)
        }
    }
}

@Suite struct SemaphoreQueueTests {
    @Test func waitersAreServedInArrivalOrderAndLeaveWhenTheirWaitEnds() {
        let now = ContinuousClock.Instant.now
        var queue = SemaphoreQueue<String>()
        let a = queue.append(holder: "a", limit: 1, ttl: .seconds(1), deadline: now + .seconds(5), waiter: "a")
        _ = queue.append(holder: "b", limit: 1, ttl: .seconds(1), deadline: now + .seconds(1), waiter: "b")
        _ = queue.append(holder: "c", limit: 1, ttl: .seconds(1), deadline: now + .seconds(9), waiter: "c")
        #expect(queue.first?.holder == "a")
        #expect(queue.earliestDeadline == now + .seconds(1))
        let value7 = queue.expire(at: now + .seconds(2)).map(\.holder)
        #expect(value7 == ["b"])
        let value8 = queue.remove(id: a)?.holder
        #expect(value8 == "a")
        let value9 = queue.remove(id: a)
        #expect(value9 == nil)
        let value10 = queue.removeFirst()?.holder
        #expect(value10 == "c")
        #expect(queue.isEmpty)
    }
}
