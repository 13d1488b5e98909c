/// The number a lease's holder attaches to every write made as leader, so that a store or service can refuse the
/// writes of a deposed leader that has not noticed yet (a paused process, a late packet): it accepts a write only
/// with a token at least as high as the highest it has seen.
///
/// One sequence per lease group, kept in the store with the lease: it grows each time the lease passes to a new
/// term and is never reused, a release included (Kleppmann, "How to do distributed locking", 2016; Chubby's
/// sequencers, Burrows 2006, section 2.4).
public struct FencingToken: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: UInt64

    public init(_ value: UInt64) {
        self.value = value
    }

    /// The token before any term: every real token is above it.
    public static let none = FencingToken(0)

    public var next: FencingToken { FencingToken(value + 1) }

    public static func < (lhs: FencingToken, rhs: FencingToken) -> Bool { lhs.value < rhs.value }

    public var description: String { String(value) }
}
