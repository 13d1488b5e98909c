import Foundation
import NIOCore

/// How long a suspected member has before it is declared dead, per Lifeguard's "local health aware suspicion":
/// the timeout starts at `maximum` and shrinks logarithmically towards `minimum` as independent members confirm
/// the suspicion (memberlist `suspicion.go`, `remainingSuspicionTime`).
///
/// With `k` the confirmations expected and `n` those received, the timeout is
/// `max - log(n+1)/log(k+1) * (max - min)`, floored to the millisecond and never below `min`. When no confirmations
/// can be expected (`k < 1`, a cluster too small), the timeout is `min` from the start. The one that raised the
/// suspicion counts as seen, so it cannot confirm its own suspicion.
public struct Suspicion: Sendable, Hashable {
    public let start: NIODeadline
    public let expected: Int
    public let minimum: TimeAmount
    public let maximum: TimeAmount
    public private(set) var confirmers: Set<String>
    /// Confirmations counted so far (the raiser excluded), at most ``expected``.
    public private(set) var confirmations: Int = 0

    public init(from: String, expected: Int, minimum: TimeAmount, maximum: TimeAmount, now: NIODeadline) {
        self.start = now
        self.expected = expected
        self.minimum = minimum
        self.maximum = maximum
        self.confirmers = [from]
    }

    /// When the suspected member is to be declared dead.
    public var deadline: NIODeadline {
        if expected < 1 { return start + minimum }
        return start + Self.timeout(confirmations: confirmations, expected: expected, minimum: minimum, maximum: maximum)
    }

    /// The whole timeout (from the start) after `n` of `k` confirmations.
    static func timeout(confirmations n: Int, expected k: Int, minimum: TimeAmount, maximum: TimeAmount) -> TimeAmount {
        let fraction = log(Double(n) + 1) / log(Double(k) + 1)
        let maxSeconds = Double(maximum.nanoseconds) / 1e9
        let minSeconds = Double(minimum.nanoseconds) / 1e9
        let raw = maxSeconds - fraction * (maxSeconds - minSeconds)
        let timeout = TimeAmount.milliseconds(Int64((1000 * raw).rounded(.down)))
        return max(timeout, minimum)
    }

    /// Counts a confirmation from `member`; false when it was already counted or enough have arrived, in which case
    /// the caller does not re-gossip the suspicion (memberlist `Confirm`).
    public mutating func confirm(from member: String) -> Bool {
        guard confirmations < expected, !confirmers.contains(member) else { return false }
        confirmers.insert(member)
        confirmations += 1
        return true
    }
}

