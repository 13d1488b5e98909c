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
    /// What a role routing to the members' applications (the proxy) says of their health, for the view's owner to
    /// show beside each backend; `nil` when no role routes to them.
    var endpointHealth: (any EndpointHealth)? { get }
    /// Puts `health` in place of what was reported before (`nil`: the reporting role stopped).
    func report(_ health: (any EndpointHealth)?)
}

extension MembershipView {
    public var endpointHealth: (any EndpointHealth)? { nil }
    public func report(_ health: (any EndpointHealth)?) {}
}

/// The health of the backends a role builds from a membership, as its own checks find them.
public protocol EndpointHealth: Sendable {
    /// The status of the backend at `url` (``ApplicationEndpoint/url``) in each place it is routed to, by name (a
    /// proxy site and `online` or `offline`); empty when it is routed nowhere.
    func status(of url: String) -> [String: String]
}
