import NIOCore

/// When each backend is checked and whether it counts as online: a pure state machine.
///
/// Mirrors sidekick's health loop with the differences noted:
/// - every backend starts down and is checked at once, so no request goes to a backend that was
///   never seen healthy;
/// - after a check the next one is due after `interval` plus a random jitter of up to one
///   interval, so many proxies started together do not probe in lock step;
/// - a backend is healthy iff the check got status 200 within the timeout (the caller reports
///   a timeout as unhealthy);
/// - a transport error while proxying takes a backend down at once (sidekick's `ErrorHandler`)
///   until a later check passes;
/// - in optimistic mode a backend that is up is not polled; only down backends are checked.
///
/// The caller owns the clock and the randomness: it passes `now` and a random source to each
/// event, runs the checks returned by ``dueChecks(now:)`` and wakes up at ``nextDeadline``.
public struct HealthCheckSchedule<Key: Hashable & Sendable>: Sendable {
    public enum Status: Sendable, Equatable {
        case up
        case down
    }

    /// A change of a backend's status, to publish to routing, metrics and status.
    public struct Transition: Sendable, Equatable {
        public var key: Key
        public var status: Status
    }

    struct Entry: Sendable, Equatable {
        var status: Status
        var nextCheck: NIODeadline?
        var checking: Bool
    }

    public private(set) var interval: TimeAmount
    public private(set) var optimistic: Bool
    private(set) var entries: [Key: Entry]

    public init(keys: some Sequence<Key>, interval: TimeAmount, optimistic: Bool, now: NIODeadline) {
        self.interval = interval
        self.optimistic = optimistic
        self.entries = [:]
        for key in keys {
            entries[key] = Entry(status: .down, nextCheck: now, checking: false)
        }
    }

    public func status(of key: Key) -> Status? {
        entries[key]?.status
    }

    /// Replaces the set of backends and the settings. Backends kept keep their status and their
    /// schedule, so a reconfiguration does not flap them; new backends start down and due now.
    public mutating func reconfigure(keys: some Sequence<Key>, interval: TimeAmount, optimistic: Bool, now: NIODeadline) {
        var updated: [Key: Entry] = [:]
        for key in keys {
            if var entry = entries[key] {
                if optimistic, entry.status == .up, !entry.checking { entry.nextCheck = nil }
                if !optimistic, entry.nextCheck == nil, !entry.checking { entry.nextCheck = now }
                updated[key] = entry
            } else {
                updated[key] = Entry(status: .down, nextCheck: now, checking: false)
            }
        }
        self.entries = updated
        self.interval = interval
        self.optimistic = optimistic
    }

    /// The backends whose check is due; they count as being checked until ``checkCompleted``.
    public mutating func dueChecks(now: NIODeadline) -> [Key] {
        var due: [Key] = []
        for (key, entry) in entries where !entry.checking {
            if let next = entry.nextCheck, next <= now {
                entries[key]?.checking = true
                entries[key]?.nextCheck = nil
                due.append(key)
            }
        }
        return due
    }

    /// The earliest time a check is due, or `nil` when nothing is scheduled.
    public var nextDeadline: NIODeadline? {
        entries.values.lazy.filter { !$0.checking }.compactMap(\.nextCheck).min()
    }

    /// Records the result of a check of `key`; returns the transition if its status changed.
    public mutating func checkCompleted<Generator: RandomNumberGenerator>(
        _ key: Key,
        healthy: Bool,
        now: NIODeadline,
        using generator: inout Generator
    ) -> Transition? {
        guard var entry = entries[key] else { return nil }
        let previous = entry.status
        entry.status = healthy ? .up : .down
        entry.checking = false
        entry.nextCheck = (optimistic && healthy) ? nil : now + interval + jitter(using: &generator)
        entries[key] = entry
        return previous == entry.status ? nil : Transition(key: key, status: entry.status)
    }

    /// Records a transport error while proxying to `key` (never a client's disconnect): the
    /// backend goes down until a check passes.
    public mutating func proxyFailed<Generator: RandomNumberGenerator>(
        _ key: Key,
        now: NIODeadline,
        using generator: inout Generator
    ) -> Transition? {
        guard var entry = entries[key], entry.status == .up else { return nil }
        entry.status = .down
        if entry.nextCheck == nil, !entry.checking {
            entry.nextCheck = now + interval + jitter(using: &generator)
        }
        entries[key] = entry
        return Transition(key: key, status: .down)
    }

    private func jitter<Generator: RandomNumberGenerator>(using generator: inout Generator) -> TimeAmount {
        guard interval.nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...interval.nanoseconds, using: &generator))
    }
}
