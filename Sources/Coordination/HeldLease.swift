/// A lease as its holder sees it: the token to attach to its writes, and the instant of its own monotonic clock
/// at which it stops acting as leader — before the store could grant the lease to anyone else.
///
/// Chubby's local lease timeout (Burrows 2006, section 2.8) done the same way:
/// - the term is counted from when the request was *sent*, read on this host's clock before sending; the store
///   read its `now` later than that, so however long the request and the answer took, the store's term ends after
///   this host's count does;
/// - the term is shortened by the most the store's clock may run faster than this one over its length
///   (`maximumDrift`, a fraction) and by a fixed `margin` for the time this host needs to stop (a write already on
///   the wire, a pause of the process).
///
/// `ContinuousClock` because it keeps counting while the host is suspended: a host that wakes must not believe
/// it still leads. What no bound covers — the store's clock stepped forward, a pause longer than the margin — the
/// fencing token does: the deposed leader's late writes carry a lower token and are refused.
///
/// A pure value: the caller passes `now`.
public struct HeldLease: Sendable, Hashable {
    public let grant: LeaseGrant
    /// The last instant of this host's clock at which it may act as the holder; nil when the term was too short to
    /// leave any time after the allowances.
    public let deadline: ContinuousClock.Instant?

    /// - Parameters:
    ///   - grant: the store's answer.
    ///   - requestedAt: this host's clock read just before the acquire or renew request was sent.
    ///   - maximumDrift: how much faster the store's clock may run than this host's, as a fraction of the term.
    ///     Linux never slews a clock's rate by more than 500 ppm (`MAXFREQ` in `include/linux/timex.h`), so two
    ///     clocks slewed in opposite directions differ by at most 1000 ppm, the default.
    ///   - margin: how long before the store's expiry this host must have stopped.
    public init(grant: LeaseGrant, requestedAt: ContinuousClock.Instant, maximumDrift: Double = 0.001, margin: Duration = .milliseconds(500)) {
        precondition((0..<1).contains(maximumDrift), "maximumDrift is a fraction of the term")
        self.grant = grant
        let usable = grant.duration * (1 - maximumDrift) - margin
        self.deadline = usable > .zero ? requestedAt + usable : nil
    }

    public var token: FencingToken { grant.token }

    /// Whether this host may still act as the holder at `now`.
    public func isLeader(at now: ContinuousClock.Instant) -> Bool {
        guard let deadline else { return false }
        return now < deadline
    }

    /// How long this host may still act as the holder; zero once it must have stopped.
    public func remaining(at now: ContinuousClock.Instant) -> Duration {
        guard let deadline, now < deadline else { return .zero }
        return deadline - now
    }
}
