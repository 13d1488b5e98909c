/// A member's side of the leadership lease, as a pure state machine: when to ask the store for the lease, when to
/// renew it, and when to stop acting as leader by this host's own monotonic clock.
///
/// The cycle hedge gets from spindle, with what spindle lacks: the holder renews every lease/3 (etcd's lease
/// keep-alive default is a third of the TTL too, `clientv3/lease.go`), so two renewals may fail before the term
/// ends; it fences itself at ``HeldLease/deadline``, before the store's expiry; and it releases the lease on a clean
/// stop so that the next leader need not wait for it to expire.
///
/// The shell asks ``next(at:)`` what to do, does it (one store call), and reports the answer with
/// ``granted(_:at:)``, ``refused(at:)``, ``lost(at:)`` or ``failed(at:)``. The clock is read by the caller.
public struct LeaderCycle: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// The lease's length as asked of the store.
    public let lease: Duration
    /// How long a follower waits between attempts while another member holds the lease.
    public let followerPoll: Duration
    /// How long to wait after a failed store call before the next (the store down or slow).
    public let retryAfterFailure: Duration

    public enum Phase: Sendable, Equatable {
        /// Not the leader; the next attempt to acquire is due at `nextAttempt`.
        case following(nextAttempt: Instant)
        /// A request is under way, sent at `sentAt`; `held` is the term being renewed, if any.
        case asking(sentAt: Instant, held: HeldLease?)
        /// The leader; the renewal is due at `renewAt`.
        case leading(HeldLease, renewAt: Instant)
        /// Stopped: the lease was given up and is never asked for again.
        case stopped
    }

    public private(set) var phase: Phase
    /// A release notice that arrived while an acquire was under way: its refusal (read before the release) is not
    /// the last word, so the next attempt is made at once.
    private var releasedMeanwhile = false

    /// What the shell should do now.
    public enum Step: Sendable, Equatable {
        /// Ask the store for a new term.
        case acquire
        /// Ask the store to extend the term of `token`.
        case renew(FencingToken)
        /// Nothing until `until` (or until an answer or a notice arrives).
        case wait(until: Instant)
        /// A request is under way; wait for its answer, but no longer than `until` when leading (the deadline).
        case awaitAnswer
        case stopped
    }

    public init(lease: Duration, now: Instant, followerPoll: Duration? = nil, retryAfterFailure: Duration? = nil) {
        precondition(lease > .zero, "a lease has a length")
        self.lease = lease
        self.followerPoll = followerPoll ?? lease / 3
        self.retryAfterFailure = retryAfterFailure ?? min(lease / 10, .milliseconds(250))
        self.phase = .following(nextAttempt: now)
    }

    /// The term this member may act on at `now`, or nil: past its deadline, the member is not the leader whatever
    /// the store will answer to the renewal under way.
    public func held(at now: Instant) -> HeldLease? {
        switch phase {
        case .leading(let lease, _), .asking(_, let lease?):
            return lease.isLeader(at: now) ? lease : nil
        default:
            return nil
        }
    }

    public func isLeader(at now: Instant) -> Bool { held(at: now) != nil }

    /// What to do at `now`. Returning ``Step/acquire`` or ``Step/renew(_:)`` records `now` as the instant the
    /// request was sent, from which the granted term is counted (see ``HeldLease``).
    public mutating func next(at now: Instant) -> Step {
        switch phase {
        case .stopped:
            return .stopped
        case .asking:
            return .awaitAnswer
        case .following(let nextAttempt):
            guard now >= nextAttempt else { return .wait(until: nextAttempt) }
            phase = .asking(sentAt: now, held: nil)
            return .acquire
        case .leading(let held, let renewAt):
            guard now >= renewAt || !held.isLeader(at: now) else { return .wait(until: min(renewAt, held.deadline ?? renewAt)) }
            phase = .asking(sentAt: now, held: held)
            return held.isLeader(at: now) ? .renew(held.token) : .acquire
        }
    }

    /// The store granted a term. Returns the term now held, or nil when it leaves no time to act (a lease shorter
    /// than the allowances of ``HeldLease``).
    @discardableResult
    public mutating func granted(_ grant: LeaseGrant, at now: Instant) -> HeldLease? {
        guard case .asking(let sentAt, _) = phase else { return nil }
        let held = HeldLease(grant: grant, requestedAt: sentAt)
        guard held.isLeader(at: now) else {
            phase = .following(nextAttempt: now + followerPoll)
            return nil
        }
        phase = .leading(held, renewAt: sentAt + lease / 3)
        return held
    }

    /// Another member holds an unexpired term.
    public mutating func refused(at now: Instant) {
        guard case .asking = phase else { return }
        phase = .following(nextAttempt: releasedMeanwhile ? now : now + followerPoll)
        releasedMeanwhile = false
    }

    /// The term being renewed is over in the store: this member is no longer the leader, and asks for a new term
    /// at once (another member may already hold it; the store decides).
    public mutating func lost(at now: Instant) {
        guard case .asking = phase else { return }
        phase = .following(nextAttempt: now)
    }

    /// The store call failed (down, slow, refused the connection). A leader keeps its term until its deadline, and
    /// tries again soon; it cannot have lost the term before the deadline.
    public mutating func failed(at now: Instant) {
        guard case .asking(_, let held) = phase else { return }
        if let held, held.isLeader(at: now) {
            phase = .leading(held, renewAt: now + retryAfterFailure)
        } else {
            phase = .following(nextAttempt: now + retryAfterFailure)
        }
    }

    /// The leader told the members it released its term: a follower asks at once rather than at its next poll.
    public mutating func leaseReleased(at now: Instant) {
        switch phase {
        case .following: phase = .following(nextAttempt: now)
        case .asking(_, nil): releasedMeanwhile = true
        default: break
        }
    }

    /// Stops the cycle. Returns the token to release when this member holds a term (even past its deadline: a
    /// release of a term the store has already ended is refused there, harmlessly).
    public mutating func stop() -> FencingToken? {
        defer { phase = .stopped }
        switch phase {
        case .leading(let held, _), .asking(_, let held?): return held.token
        default: return nil
        }
    }
}
