import Testing

@testable import Membership

/// The delivery rules as a plain value, with names standing in for the continuations the live view keeps.
@Suite struct MembershipDeliveryTests {
    let first = MembershipSnapshot(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))

    func later(_ snapshot: MembershipSnapshot, _ name: String) -> MembershipSnapshot {
        snapshot.applying([.joined(Member(name: name, host: "10.0.0.1", port: 7946, status: .alive))])
    }

    func delivered(_ next: MembershipDelivery<String>.Next) -> MembershipSnapshot? {
        if case .deliver(let snapshot) = next { snapshot } else { nil }
    }

    func waits(_ next: MembershipDelivery<String>.Next) -> Bool {
        if case .wait = next { true } else { false }
    }

    func ends(_ next: MembershipDelivery<String>.Next) -> Bool {
        if case .end = next { true } else { false }
    }

    @Test func aSubscriberIsOwedTheCurrentStateThenWaitsForTheNext() {
        var delivery = MembershipDelivery<String>(current: first)
        let id = delivery.subscribe()
        #expect(delivered(delivery.next(for: id, waiter: "w1")) == first)
        #expect(waits(delivery.next(for: id, waiter: "w2")))
        #expect(delivery.publish(later(first, "b1")) == ["w2"])
        #expect(waits(delivery.next(for: id, waiter: "w3")), "the woken waiter took the new state")
    }

    /// The gap the old `members` + `changes()` pair had: a change between taking the snapshot and listening.
    @Test func aChangeBeforeTheFirstTakeIsInTheFirstSnapshot() {
        var delivery = MembershipDelivery<String>(current: first)
        let id = delivery.subscribe()
        let second = later(first, "b1")
        #expect(delivery.publish(second).isEmpty)
        #expect(delivered(delivery.next(for: id, waiter: "w")) == second)
    }

    @Test func aSlowSubscriberIsOwedOnlyTheNewestState() {
        var delivery = MembershipDelivery<String>(current: first)
        let slow = delivery.subscribe()
        var newest = first
        for index in 0..<1000 {
            newest = later(newest, "b\(index)")
            _ = delivery.publish(newest)
            #expect(delivery.slots.count == 1, "one slot holding one snapshot, however many states went by")
        }
        let snapshot = delivered(delivery.next(for: slow, waiter: "w"))
        #expect(snapshot?.version == 1001)
        #expect(snapshot == newest)
    }

    @Test func anOlderOrEqualStateIsNotPublished() {
        var delivery = MembershipDelivery<String>(current: first)
        let second = later(first, "b1")
        _ = delivery.publish(second)
        let id = delivery.subscribe()
        _ = delivery.next(for: id, waiter: "w1")
        #expect(waits(delivery.next(for: id, waiter: "w2")))
        #expect(delivery.publish(first).isEmpty)
        #expect(delivery.publish(second).isEmpty)
        #expect(delivery.current == second)
    }

    @Test func subscribersAreIndependent() {
        var delivery = MembershipDelivery<String>(current: first)
        let a = delivery.subscribe()
        let b = delivery.subscribe()
        _ = delivery.next(for: a, waiter: "a1")
        #expect(waits(delivery.next(for: a, waiter: "a2")))
        let second = later(first, "b1")
        #expect(delivery.publish(second) == ["a2"])
        #expect(delivered(delivery.next(for: b, waiter: "b1")) == second, "b never took the first state, so it is owed only the newest")
    }

    @Test func cancellingReturnsTheWaiterAndEndsTheSubscription() {
        var delivery = MembershipDelivery<String>(current: first)
        let id = delivery.subscribe()
        _ = delivery.next(for: id, waiter: "w1")
        _ = delivery.next(for: id, waiter: "w2")
        #expect(delivery.cancel(id) == "w2")
        #expect(delivery.slots.isEmpty)
        #expect(ends(delivery.next(for: id, waiter: "w3")), "a cancelled subscriber goes no further")
        #expect(delivery.cancel(id) == nil)
        let owed = delivery.subscribe()
        #expect(delivery.cancel(owed) == nil, "a subscriber that was not waiting has no waiter to wake")
        #expect(delivery.publish(later(first, "b1")).isEmpty)
        #expect(delivery.slots.isEmpty)
    }

    @Test func finishingHandsOverTheFinalStateThenEnds() {
        var delivery = MembershipDelivery<String>(current: first)
        let waiting = delivery.subscribe()
        let owed = delivery.subscribe()
        _ = delivery.next(for: waiting, waiter: "w1")
        _ = delivery.next(for: waiting, waiter: "w2")
        #expect(delivery.finish() == ["w2"])
        #expect(delivered(delivery.next(for: owed, waiter: "o1")) == first, "the owed state is not lost")
        #expect(ends(delivery.next(for: owed, waiter: "o2")))
        #expect(ends(delivery.next(for: waiting, waiter: "w3")))
        #expect(delivery.slots.isEmpty)
        #expect(delivery.publish(later(first, "b1")).isEmpty)
        #expect(delivery.current == first, "nothing is published after the finish")
        let late = delivery.subscribe()
        #expect(delivered(delivery.next(for: late, waiter: "l1")) == first, "a late subscriber still gets the final state")
        #expect(ends(delivery.next(for: late, waiter: "l2")))
    }
}
