/// The states of a ``LiveMembership``: the state when iteration starts, then each newer one, newest first for a
/// subscriber that fell behind (see ``MembershipDelivery`` for the rules). Iteration ends when the view finishes
/// (after the final state) or when the iterating task is cancelled; dropping the iterator unsubscribes.
public struct MembershipSubscription: AsyncSequence, Sendable {
    public typealias Element = MembershipSnapshot
    public typealias Failure = Never

    let view: LiveMembership

    public func makeAsyncIterator() -> Iterator {
        Iterator(registration: Registration(view: view))
    }

    public struct Iterator: AsyncIteratorProtocol {
        let registration: Registration

        public mutating func next() async -> MembershipSnapshot? {
            await registration.view.next(for: registration.id)
        }
    }

    /// One subscription, given up when the last copy of its iterator is gone so that an abandoned loop leaves
    /// nothing behind in the view.
    final class Registration: Sendable {
        let view: LiveMembership
        let id: MembershipDelivery<LiveMembership.Waiter>.SubscriberID

        init(view: LiveMembership) {
            self.view = view
            self.id = view.subscribe()
        }

        deinit { view.cancel(id) }
    }
}
