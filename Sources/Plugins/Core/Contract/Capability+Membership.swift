import Membership

extension Capability where Value == any MembershipView {
    /// The gossip role's live view of the cluster, used by the proxy and the coordinator when present.
    public static var membership: Self { .init("membership") }
}
