import NIOCore

/// Lifeguard's local health awareness (memberlist `awareness.go`): a score from 0 (healthy) to `maximum - 1` that
/// rises when this member misses acks it should have had (it is probably the slow one) and falls with each
/// successful probe. Probe intervals and timeouts are stretched by `score + 1`, so a starved member probes less
/// eagerly and gives others longer to answer instead of accusing them.
public struct Awareness: Sendable, Hashable {
    public let maximum: Int
    public private(set) var score: Int = 0

    public init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Adds `delta`, clamped to `0...maximum-1`; returns whether the score changed.
    @discardableResult
    public mutating func apply(_ delta: Int) -> Bool {
        let before = score
        score = min(max(score + delta, 0), maximum - 1)
        return score != before
    }

    public func scale(_ timeout: TimeAmount) -> TimeAmount {
        timeout * Int64(score + 1)
    }
}
