import Foundation
import NIOCore
import Plugins

/// Whether a call made through the leader is sent again, to the next leader, and when: the rule that lets a
/// semaphore acquire with a `wait`, and a Put with an `Idempotency-Key`, outlive a leader change.
///
/// A call is resent only when the leader is gone — it cannot be reached, there is no leader for a moment, or it
/// answers that it no longer leads (a 503 marked ``marker``, which a leader that steps down or stops gives the
/// calls it still holds) — and only until `deadline`: the rest of the acquire's `wait` (never longer), or the
/// bound of a Put. Any other answer (200, 201, 409, a 503 from the store, ...) is definite and passed through.
/// etcd's clients retry a request on the next leader the same way when it failed with "leader changed"; they
/// may only do so for requests that are safe to repeat, which is why a Put without an idempotency key is never
/// resent (it could be applied twice) and an acquire is (the semaphore gives a holder that already has a slot
/// that slot again, ``Coordination/Semaphore/acquire(by:limit:ttl:at:)``).
///
/// A pure value: the caller passes `now`.
struct LeaderRetry: Sendable, Equatable {
    /// What one attempt came back with.
    enum Answer: Sendable, Equatable {
        /// The leader's address could not be reached (refused, reset, timed out).
        case unreachable
        /// The store's lease names no leader, or one without a known address.
        case noLeader
        /// The leader answered that it no longer leads or is stopping (503 with ``marker``).
        case leaderGone
        /// Any other answer, passed through as it came.
        case definite
    }

    enum Decision: Sendable, Equatable {
        /// Pass the answer on.
        case deliver
        /// Try again after `pause` (the leader found afresh), with what remains of the deadline.
        case retry(after: Duration)
        /// The deadline has passed: the failure is the answer.
        case giveUp
    }

    /// The value of the `retry` field of a 503 that means "send this again to the next leader".
    static let marker = "next_leader"

    /// How long to pause between attempts: about the member's own loop's pace, cheap for the store (one read of
    /// the lease and the members per attempt).
    static let pause: Duration = .milliseconds(100)

    let deadline: ContinuousClock.Instant

    /// A retry for `wait` from `now`.
    init(wait: Duration, from now: ContinuousClock.Instant) {
        self.deadline = now + max(wait, .zero)
    }

    /// What is left of the deadline at `now`; zero once it has passed, never more than it was at the start.
    func remaining(at now: ContinuousClock.Instant) -> Duration {
        max(deadline - now, .zero)
    }

    func decide(_ answer: Answer, at now: ContinuousClock.Instant) -> Decision {
        guard answer != .definite else { return .deliver }
        let left = remaining(at: now)
        guard left > .zero else { return .giveUp }
        return .retry(after: min(Self.pause, left))
    }

    /// The answer a reply of `status` with `body` is: ``Answer/leaderGone`` for a 503 whose JSON carries
    /// `"retry": "next_leader"`, else ``Answer/definite``. Any bytes are taken; what does not parse is definite.
    static func classify(status: Int, body: ByteBuffer) -> Answer {
        guard status == 503, body.readableBytes <= 64 << 10,
              let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              object["retry"] as? String == marker
        else { return .definite }
        return .leaderGone
    }

    /// Why a forwarded Put's `result` sends it again to the next leader, or nil when it is its answer: only a Put
    /// with an Idempotency-Key is resent, and only when its leader was gone (a Put without one may have been
    /// committed by a leader that went away with it).
    static func resend(_ result: Result<AdminResponse, any Error>, idempotencyKey: String?) -> Answer? {
        guard idempotencyKey != nil else { return nil }
        let answer: Answer
        switch result {
        case .failure(let failure as LeaderFailure): answer = failure.answer
        case .success(let response): answer = classify(status: Int(response.status.code), body: response.body)
        case .failure: return nil
        }
        return answer == .definite ? nil : answer
    }

    /// A leader's 503 for a call it will not serve because it no longer leads: the forwarding member sends it
    /// again to the next leader.
    static func leaderGoneResponse(_ reason: String) -> AdminResponse {
        .json(["error": .string(reason), "retry": .string(marker)], status: .serviceUnavailable)
    }

    /// The `error` field of a JSON answer, if it has one (a leader's reason for a 401).
    static func errorReason(_ body: ByteBuffer) -> String? {
        guard body.readableBytes <= 64 << 10,
              let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let reason = object["error"] as? String, !reason.isEmpty
        else { return nil }
        return String(reason.prefix(500))
    }
}

/// Why a call through the leader failed because of the leader: thrown inside the adapter and turned into a 503
/// for the client (``error``) once ``LeaderRetry`` gives up or the call may not be resent.
struct LeaderFailure: Error, Sendable {
    var answer: LeaderRetry.Answer
    var error: AdminError

    static func unreachable(_ message: String) -> LeaderFailure { LeaderFailure(answer: .unreachable, error: .serviceUnavailable(message)) }
    static func noLeader(_ message: String) -> LeaderFailure { LeaderFailure(answer: .noLeader, error: .serviceUnavailable(message)) }
    static func gone(_ message: String) -> LeaderFailure { LeaderFailure(answer: .leaderGone, error: .serviceUnavailable(message)) }
}
