/// The leadership lease of one group as the store keeps it, one row per group as hedge keeps one per lock name:
/// who holds it, until when by the store's clock, and the fencing token of the current term.
///
/// A pure value: the store's code reads its own clock inside the transaction and passes it as `now`, applies the
/// operation and writes the row back, so expiry is decided by one clock for every candidate. What the holder may
/// assume on its own side, by its own clock, is ``HeldLease``.
public struct Lease: Sendable, Hashable {
    public let group: String
    public private(set) var holder: String?
    /// When the current term ends, by the store's clock.
    public private(set) var expiresAt: StoreTime?
    /// The current or last term's token; the next term gets a higher one.
    public private(set) var token: FencingToken

    /// A group whose lease was never held.
    public init(group: String) {
        self.group = group
        self.token = .none
    }

    /// A row read back from the store.
    public init(group: String, holder: String?, expiresAt: StoreTime?, token: FencingToken) {
        self.group = group
        self.holder = holder
        self.expiresAt = holder == nil ? nil : expiresAt
        self.token = token
    }

    /// What the store answers a candidate.
    public enum Outcome: Sendable, Hashable {
        case granted(LeaseGrant)
        /// Another term has not expired; asking again after `until` may succeed.
        case held(by: String, until: StoreTime)
        /// A renewal for a term that is over: expired, released, or followed by another. The caller is no longer
        /// the leader and must acquire a new term.
        case lost
    }

    /// Who holds the lease at store time `now`: nobody once the term has expired.
    public func holder(at now: StoreTime) -> String? {
        guard let holder, let expiresAt, now < expiresAt else { return nil }
        return holder
    }

    /// Starts a new term for `candidate`, with the next fencing token, when the lease is free or has expired.
    ///
    /// A candidate that already holds the lease by name is refused like anyone else: a process that lost track of
    /// its term (as after a restart under the same node name) must not be handed its predecessor's token, or the
    /// predecessor's late writes would pass the fence. A holder that knows its term renews it with ``renew``.
    public mutating func acquire(by candidate: String, for duration: Duration, at now: StoreTime) -> Outcome {
        if let current = holder(at: now), let expiresAt {
            return .held(by: current, until: expiresAt)
        }
        token = token.next
        holder = candidate
        expiresAt = now + duration
        return .granted(grant(to: candidate, duration: duration))
    }

    /// Extends the term `token` of `candidate` to `duration` from `now`, keeping the token. Only an unexpired term
    /// is renewed: once the store's clock has passed its end, another candidate may already have been told the
    /// lease is free, so the old holder starts again with ``acquire`` and a new token.
    public mutating func renew(_ token: FencingToken, by candidate: String, for duration: Duration, at now: StoreTime) -> Outcome {
        guard holder(at: now) == candidate, token == self.token else { return .lost }
        expiresAt = now + duration
        return .granted(grant(to: candidate, duration: duration))
    }

    /// Ends the term `token` early, as hedge does on a clean shutdown, so that the next leader need not wait for it
    /// to expire. The token is not reused. Returns whether this was the current term.
    @discardableResult
    public mutating func release(_ token: FencingToken, by candidate: String) -> Bool {
        guard holder == candidate, token == self.token else { return false }
        holder = nil
        expiresAt = nil
        return true
    }

    private func grant(to holder: String, duration: Duration) -> LeaseGrant {
        LeaseGrant(group: group, holder: holder, token: token, expiresAt: expiresAt!, duration: duration)
    }
}
