/// The store's answer to a candidate that got the lease: the term's token, and its end by the store's clock.
///
/// The holder cannot compare `expiresAt` with its own clock (the two clocks differ by an unknown offset); it turns
/// the grant into a deadline of its own with ``HeldLease``.
public struct LeaseGrant: Sendable, Hashable {
    public var group: String
    public var holder: String
    public var token: FencingToken
    public var expiresAt: StoreTime
    /// The term's length as the store counted it from its `now`.
    public var duration: Duration

    public init(group: String, holder: String, token: FencingToken, expiresAt: StoreTime, duration: Duration) {
        self.group = group
        self.holder = holder
        self.token = token
        self.expiresAt = expiresAt
        self.duration = duration
    }
}
