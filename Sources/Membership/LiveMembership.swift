import Synchronization

/// The ``MembershipView`` a gossip member publishes to: it applies membership changes, versions each new state and
/// hands it to every subscriber by the rules of ``MembershipDelivery``, with one lock around that state machine.
public final class LiveMembership: MembershipView {
    typealias Waiter = CheckedContinuation<MembershipSnapshot?, Never>

    private let delivery: Mutex<MembershipDelivery<Waiter>>

    public init(localMember: Member) {
        delivery = Mutex(MembershipDelivery(current: MembershipSnapshot(localMember: localMember)))
    }

    public var snapshot: MembershipSnapshot { delivery.withLock { $0.current } }

    private let health = Mutex<(any EndpointHealth)?>(nil)

    public var endpointHealth: (any EndpointHealth)? { health.withLock { $0 } }

    public func report(_ health: (any EndpointHealth)?) {
        self.health.withLock { $0 = health }
    }

    public func snapshots() -> MembershipSubscription { MembershipSubscription(view: self) }

    /// Applies `changes` as one new state, one version later, and wakes the subscribers waiting for it. Changes that
    /// leave the members as they were publish nothing. Returns the state now.
    @discardableResult
    public func apply(_ changes: some Sequence<MembershipChange>) -> MembershipSnapshot {
        let (snapshot, woken) = delivery.withLock { delivery in
            let woken = delivery.publish(delivery.current.applying(changes))
            return (delivery.current, woken)
        }
        for waiter in woken { waiter.resume(returning: snapshot) }
        return snapshot
    }

    @discardableResult
    public func apply(_ change: MembershipChange) -> MembershipSnapshot {
        apply(CollectionOfOne(change))
    }

    /// Ends every subscription once its subscriber has the final state, as when the gossip role stops; later
    /// changes are not published.
    public func finish() {
        let woken = delivery.withLock { $0.finish() }
        for waiter in woken { waiter.resume(returning: nil) }
    }

    /// How many subscriptions are open: an iteration that ends, is cancelled or is dropped no longer counts.
    public var subscriberCount: Int { delivery.withLock { $0.slots.count } }

    /// How many subscribers wait for a newer state than the one they have.
    var subscribersWaiting: Int {
        delivery.withLock { $0.slots.values.count { if case .waiting = $0 { true } else { false } } }
    }

    func subscribe() -> MembershipDelivery<Waiter>.SubscriberID {
        delivery.withLock { $0.subscribe() }
    }

    /// The subscriber's next snapshot, waiting for one when it has the current state; nil once the view has finished
    /// or the calling task is cancelled.
    func next(for id: MembershipDelivery<Waiter>.SubscriberID) async -> MembershipSnapshot? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                // A task cancelled before this point has already lost its slot to `onCancel`, so it gets `.end`.
                let next = delivery.withLock { $0.next(for: id, waiter: waiter) }
                switch next {
                case .deliver(let snapshot): waiter.resume(returning: snapshot)
                case .wait: break
                case .end: waiter.resume(returning: nil)
                }
            }
        } onCancel: {
            cancel(id)
        }
    }

    func cancel(_ id: MembershipDelivery<Waiter>.SubscriberID) {
        delivery.withLock { $0.cancel(id) }?.resume(returning: nil)
    }
}
