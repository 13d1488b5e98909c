/// A change in the cluster's membership, as memberlist's `EventDelegate` reports them (`NotifyJoin`,
/// `NotifyUpdate`, `NotifyLeave`), applied to a ``LiveMembership`` by the gossip role and found again between two
/// snapshots by ``MembershipSnapshot/changes(since:)``.
public enum MembershipChange: Sendable, Hashable {
    /// A member not listed before; a member already listed is replaced, as memberlist re-announces a rejoining node.
    case joined(Member)
    /// Status, address or tags changed; a member not listed yet is added.
    case updated(Member)
    /// No longer listed: memberlist reaps dead and departed members once they have been gossiped about long enough.
    /// Only the name counts. This host's own entry is never removed from its own view.
    case removed(Member)

    public var member: Member {
        switch self {
        case .joined(let member), .updated(let member), .removed(let member): member
        }
    }
}
