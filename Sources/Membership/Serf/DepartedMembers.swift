import NIOCore

/// The members serf keeps after memberlist has given them up (serf `serf/serf.go`): a failed member (memberlist's
/// dead) for `reconnect_timeout`, a member that left for `tombstone_timeout`, both 24 h by default (`config.go`,
/// `DefaultConfig`), counted from when it failed or left (`handleNodeLeave` sets `leaveTime`). Until then it stays
/// in the member list with its status, whether or not memberlist has reaped it from its own table (after
/// `gossip_to_the_dead_time`, 15–60 s); after that it is reaped (`reap`, `eraseNode`), even if memberlist still
/// holds it. Every `reconnect_interval` (30 s) one failed member is picked at random for a join attempt, with
/// probability failed / (members − failed − left) so that the cluster as a whole tries each failed member about
/// once per interval (`reconnect`). A member that comes back alive leaves this table (`handleNodeJoin` removes it
/// from `failedMembers` and `leftMembers`).
///
/// A pure value: the caller passes `now` and the random source, asks ``nextDeadline`` when to call ``tick(now:random:)``,
/// and runs the join it returns.
public struct DepartedMembers: Sendable {
    public struct Timeouts: Sendable, Hashable {
        public var reconnectTimeout: TimeAmount
        public var tombstoneTimeout: TimeAmount
        public var reconnectInterval: TimeAmount

        /// serf's `DefaultConfig`: 24 h, 24 h, 30 s.
        public static let serf = Timeouts(reconnectTimeout: .hours(24), tombstoneTimeout: .hours(24), reconnectInterval: .seconds(30))

        public init(reconnectTimeout: TimeAmount, tombstoneTimeout: TimeAmount, reconnectInterval: TimeAmount) {
            self.reconnectTimeout = reconnectTimeout
            self.tombstoneTimeout = tombstoneTimeout
            self.reconnectInterval = reconnectInterval
        }
    }

    /// A failed or departed member: its last entry (state `dead` or `left`) and when it went.
    public struct Departure: Sendable, Hashable {
        public var entry: NodeEntry
        public var since: NIODeadline
    }

    /// What ``tick(now:random:)`` decided.
    public struct Outcome: Sendable, Hashable {
        /// Members whose timeout passed: no longer members at all.
        public var reaped: [NodeEntry] = []
        /// A failed member to try to join again (serf's reconnect), if one was picked.
        public var reconnect: NodeEntry?
    }

    public var timeouts: Timeouts
    public private(set) var departures: [String: Departure] = [:]
    private var nextReconnectAt: NIODeadline

    public init(timeouts: Timeouts = .serf, now: NIODeadline) {
        self.timeouts = timeouts
        self.nextReconnectAt = now + timeouts.reconnectInterval
    }

    /// Follows memberlist's view of a member: a dead or left one is kept from now (or from when it first went, if
    /// it is still in the same state), an alive or suspect one is no longer departed.
    public mutating func update(_ entry: NodeEntry, now: NIODeadline) {
        switch entry.state {
        case .alive, .suspect:
            departures[entry.name] = nil
        case .dead, .left:
            if let known = departures[entry.name], known.entry.state == entry.state {
                departures[entry.name]?.entry = entry
            } else {
                departures[entry.name] = Departure(entry: entry, since: now)
            }
        }
    }

    /// Whether `name` is kept as failed or left.
    public func keeps(_ name: String) -> Bool { departures[name] != nil }

    /// The kept members, by name.
    public var entries: [NodeEntry] { departures.values.map(\.entry).sorted { $0.name < $1.name } }

    /// When ``tick(now:random:)`` next has something to do: the earliest expiry or the next reconnect.
    public var nextDeadline: NIODeadline {
        var deadline = nextReconnectAt
        for departure in departures.values { deadline = min(deadline, expiry(of: departure)) }
        return deadline
    }

    /// Reaps the members whose timeout passed (serf: strictly more than the timeout ago) and, once per
    /// `reconnect_interval`, maybe picks a failed member to join. `members` is how many members the view holds in
    /// all, these included (serf's `len(s.members)`).
    public mutating func tick(now: NIODeadline, members: Int, random: inout some RandomNumberGenerator) -> Outcome {
        var outcome = Outcome()
        for (name, departure) in departures.sorted(by: { $0.key < $1.key }) where expiry(of: departure) <= now {
            departures[name] = nil
            outcome.reaped.append(departure.entry)
        }
        if nextReconnectAt <= now {
            nextReconnectAt = now + timeouts.reconnectInterval
            let failed = departures.values.filter { $0.entry.state == .dead }.map(\.entry).sorted { $0.name < $1.name }
            let left = departures.values.count - failed.count
            if !failed.isEmpty {
                let alive = max(1, members - failed.count - left)
                let probability = Double(failed.count) / Double(alive)
                if Double.random(in: 0..<1, using: &random) < probability {
                    outcome.reconnect = failed.randomElement(using: &random)
                }
            }
        }
        return outcome
    }

    /// Past the timeout: serf reaps when `now - leaveTime > timeout`, at its next reap pass; here one nanosecond
    /// after the timeout.
    private func expiry(of departure: Departure) -> NIODeadline {
        departure.since + (departure.entry.state == .left ? timeouts.tombstoneTimeout : timeouts.reconnectTimeout) + .nanoseconds(1)
    }
}
