/// What each subscriber of a ``LiveMembership`` is owed: a pure state machine, generic over how a waiting
/// subscriber is woken so that tests drive it with plain values and the live view with continuations.
///
/// The rules, which the live view's guarantees come from:
/// - a subscriber is owed the current snapshot from the moment it subscribes, under the same lock that publishes,
///   so no state can fall between its first snapshot and the ones after;
/// - each subscriber holds at most one snapshot it has not taken, and a newer one replaces it: a slow subscriber
///   sees the newest state next, never a backlog, and memory does not grow with the rate of change (unlike an
///   unbounded `AsyncStream` buffer, which is what this replaces);
/// - a snapshot handed to a subscriber has a higher version than the one before it.
struct MembershipDelivery<Waiter> {
    typealias SubscriberID = Int

    enum Slot {
        /// Has a snapshot it has not taken yet.
        case owed(MembershipSnapshot)
        /// Has taken the current snapshot and is not waiting.
        case upToDate
        /// Has taken the current snapshot and waits for the next.
        case waiting(Waiter)
    }

    /// What a subscriber asking for its next snapshot gets.
    enum Next {
        case deliver(MembershipSnapshot)
        /// Nothing new: the waiter is kept and will be returned by ``publish`` with the next snapshot, or by
        /// ``cancel`` or ``finish`` to be woken with nothing.
        case wait
        /// The view has finished (and the subscriber has taken its last snapshot), or the subscriber was cancelled.
        case end
    }

    private(set) var current: MembershipSnapshot
    private(set) var slots: [SubscriberID: Slot] = [:]
    private(set) var isFinished = false
    private var nextID: SubscriberID = 0

    init(current: MembershipSnapshot) {
        self.current = current
    }

    /// A new subscriber, owed the current snapshot.
    mutating func subscribe() -> SubscriberID {
        let id = nextID
        nextID += 1
        slots[id] = .owed(current)
        return id
    }

    mutating func next(for id: SubscriberID, waiter: Waiter) -> Next {
        switch slots[id] {
        case .owed(let snapshot)?:
            slots[id] = .upToDate
            return .deliver(snapshot)
        case .upToDate? where !isFinished:
            slots[id] = .waiting(waiter)
            return .wait
        case .upToDate?:
            slots[id] = nil
            return .end
        case .waiting?:
            preconditionFailure("a subscriber asked for its next snapshot while already waiting for one")
        case nil:
            return .end
        }
    }

    /// Makes `snapshot` current when it is newer, and returns the waiters to wake with it.
    mutating func publish(_ snapshot: MembershipSnapshot) -> [Waiter] {
        guard !isFinished, snapshot.version > current.version else { return [] }
        current = snapshot
        var woken: [Waiter] = []
        for (id, slot) in slots {
            if case .waiting(let waiter) = slot {
                woken.append(waiter)
                slots[id] = .upToDate
            } else {
                slots[id] = .owed(snapshot)
            }
        }
        return woken
    }

    /// Forgets a subscriber; the waiter returned, if it was waiting, is to be woken with nothing.
    mutating func cancel(_ id: SubscriberID) -> Waiter? {
        guard case .waiting(let waiter)? = slots.removeValue(forKey: id) else { return nil }
        return waiter
    }

    /// Publishes nothing more. Waiting subscribers are returned to be woken with nothing; a subscriber still owed a
    /// snapshot takes it before its subscription ends, so every subscriber's last snapshot is the final state.
    mutating func finish() -> [Waiter] {
        isFinished = true
        var woken: [Waiter] = []
        for (id, slot) in slots {
            switch slot {
            case .waiting(let waiter):
                woken.append(waiter)
                slots[id] = nil
            case .upToDate:
                slots[id] = nil
            case .owed:
                break
            }
        }
        return woken
    }
}
