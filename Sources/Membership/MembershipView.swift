/// The live membership the gossip role offers to the other roles: the proxy builds backend pools from it, the
/// coordinator learns its peers from it.
///
/// A user reads ``snapshot`` for the state now, or iterates ``snapshots()`` to follow it: the first element is the
/// state when iteration starts and each later one is newer, with no change falling between them; a user that
/// falls behind is handed the newest state, not a backlog (``MembershipSubscription``). What changed between two
/// snapshots is ``MembershipSnapshot/changes(since:)``.
public protocol MembershipView: Sendable {
    /// The state now.
    var snapshot: MembershipSnapshot { get }
    /// The states from now on; each iteration is an independent subscription.
    func snapshots() -> MembershipSubscription
}
