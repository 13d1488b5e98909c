import Coordination
import Testing

/// The holder's side: a deadline of its own clock that falls before the store's expiry.
@Suite struct HeldLeaseTests {
    let sent = ContinuousClock.Instant.now
    let storeNow = StoreTime(microsecondsSinceEpoch: 1_764_000_000_000_000)

    func grant(for duration: Duration) -> LeaseGrant {
        LeaseGrant(group: "scheduler", holder: "a", token: FencingToken(3), expiresAt: storeNow + duration, duration: duration)
    }

    @Test func theHolderStopsBeforeTheStoreWouldGrantTheLeaseAgain() {
        let held = HeldLease(grant: grant(for: .seconds(10)), requestedAt: sent, maximumDrift: 0.001, margin: .milliseconds(500))
        // 10 s less 1000 ppm (10 ms) less the 500 ms margin, counted from the send.
        #expect(held.deadline == sent + .milliseconds(9490))
        #expect(held.isLeader(at: sent))
        #expect(held.isLeader(at: sent + .milliseconds(9489)))
        #expect(!held.isLeader(at: sent + .milliseconds(9490)))
        #expect(held.remaining(at: sent + .seconds(9)) == .milliseconds(490))
        #expect(held.remaining(at: sent + .seconds(20)) == .zero)
        #expect(held.token == FencingToken(3))
    }

    /// However late the store read its clock after the send, and however much faster (within the bound) the store's
    /// clock ran, the store's term ends after the holder's deadline.
    @Test func theDeadlineHoldsForAnyDelayAndDriftWithinTheBounds() {
        let term = Duration.seconds(15), drift = 0.001, margin = Duration.milliseconds(200)
        let held = HeldLease(grant: grant(for: term), requestedAt: sent, maximumDrift: drift, margin: margin)
        for delayMilliseconds in [0, 1, 50, 900, 4000] {
            for storeRate in [1.0, 1.0005, 1.001] {
                // The store's term, measured on the holder's clock: it began `delay` after the send and lasts
                // `term / storeRate` of the holder's time when the store's clock runs `storeRate` times as fast.
                let storeExpiry = sent + .milliseconds(delayMilliseconds) + term / storeRate
                #expect(held.deadline! + margin <= storeExpiry, "delay \(delayMilliseconds) ms, rate \(storeRate)")
            }
        }
    }

    @Test func aTermShorterThanTheAllowancesIsNeverLed() {
        let held = HeldLease(grant: grant(for: .milliseconds(400)), requestedAt: sent, margin: .milliseconds(500))
        #expect(held.deadline == nil)
        #expect(!held.isLeader(at: sent))
        #expect(held.remaining(at: sent) == .zero)
    }
}
