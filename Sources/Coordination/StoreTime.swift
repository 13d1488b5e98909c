/// A reading of the clock of the store that keeps the leases: PostgreSQL's `now()` (the transaction's start, in
/// microseconds) or SQLite's `unixepoch('subsec')`, as a time since the Unix epoch.
///
/// Lease expiry is decided by this clock alone, read inside the transaction that grants or renews, so every
/// candidate is judged by the same clock however far the hosts' own clocks are apart. A `ContinuousClock.Instant`
/// cannot serve: it means nothing outside the process that read it.
public struct StoreTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var sinceEpoch: Duration

    public init(sinceEpoch: Duration) {
        self.sinceEpoch = sinceEpoch
    }

    /// PostgreSQL's `timestamptz` resolution, as its `extract(epoch from now()) * 1e6` gives it.
    public init(microsecondsSinceEpoch: Int64) {
        self.sinceEpoch = .microseconds(microsecondsSinceEpoch)
    }

    public static func < (lhs: StoreTime, rhs: StoreTime) -> Bool { lhs.sinceEpoch < rhs.sinceEpoch }

    public static func + (time: StoreTime, duration: Duration) -> StoreTime {
        StoreTime(sinceEpoch: time.sinceEpoch + duration)
    }

    public static func - (later: StoreTime, earlier: StoreTime) -> Duration {
        later.sinceEpoch - earlier.sinceEpoch
    }

    public var description: String { "\(sinceEpoch) since the epoch" }
}
