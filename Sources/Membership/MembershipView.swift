/// A change in the cluster's membership.
public enum MembershipChange: Sendable, Hashable {
    case joined(Member)
    /// Status or tags changed.
    case updated(Member)
    case left(Member)
}

/// The live membership the gossip role offers to the other roles: the proxy builds backend pools from it, the
/// coordinator learns its peers from it.
public protocol MembershipView: Sendable {
    /// This host's own entry.
    var localMember: Member { get async }
    /// Every member known, this host included.
    var members: [Member] { get async }
    /// Changes from now on; each call gives an independent stream.
    func changes() -> AsyncStream<MembershipChange>
}

extension MembershipView {
    /// Reachable members carrying `tag` with `value`, such as the backends serving one application.
    public func members(taggedWith tag: String, value: String) async -> [Member] {
        await members.filter { $0.isReachable && $0.tags[tag].map { $0.split(separator: ",").contains(Substring(value)) } == true }
    }
}
