/// A leadership lease, as hedge keeps one per lock name: who holds it, until when, and the fencing token that
/// increases with every change of holder so that a deposed leader's late writes can be refused.
///
/// A pure value: the caller passes `now`, so expiry is decided without reading a clock.
public struct Lease: Sendable, Hashable {
    public private(set) var holder: String?
    public private(set) var expiresAt: ContinuousClock.Instant?
    /// Increases each time the lease passes to a new holder; never reused.
    public private(set) var fencingToken: UInt64 = 0

    public init() {}

    public enum Outcome: Sendable, Hashable {
        /// `candidate` holds the lease until the given instant.
        case granted(token: UInt64)
        /// Another holder's lease has not expired.
        case held(by: String)
    }

    /// Whether someone holds the lease at `now`.
    public func holder(at now: ContinuousClock.Instant) -> String? {
        guard let holder, let expiresAt, now < expiresAt else { return nil }
        return holder
    }

    /// Takes the lease if it is free or expired, or renews it if `candidate` already holds it.
    public mutating func acquire(_ candidate: String, for duration: Duration, at now: ContinuousClock.Instant) -> Outcome {
        if let current = holder(at: now), current != candidate {
            return .held(by: current)
        }
        if holder(at: now) != candidate {
            fencingToken += 1
        }
        holder = candidate
        expiresAt = now + duration
        return .granted(token: fencingToken)
    }

    /// Gives the lease up early, as hedge does on clean shutdown so that the next leader need not wait for expiry.
    public mutating func release(_ candidate: String) {
        guard holder == candidate else { return }
        holder = nil
        expiresAt = nil
    }
}
