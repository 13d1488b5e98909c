/// memberlist's `TransmitLimitedQueue` (`queue.go`): the messages this member gossips, each piggybacked on
/// `retransmitLimit` outgoing packets and then dropped.
///
/// Messages about a member are named by that member: a newer one replaces an older one still queued (an alive
/// after a suspect for the same node), as memberlist's `memberlistBroadcast.Invalidates` does. When a packet is
/// filled the least-transmitted messages go first, larger ones before smaller at equal count, newer before older.
public struct BroadcastQueue<Message: Sendable & Hashable>: Sendable {
    struct Entry: Sendable {
        var message: Message
        var name: String
        var size: Int
        var transmits: Int
        var id: Int
        /// Notified when the broadcast is finished (fully transmitted or replaced), as memberlist's leave waits.
        var notifies: Bool
    }

    private var entries: [String: Entry] = [:]
    private var nextID = 0
    /// Names of notifying broadcasts that finished since the caller last took them.
    public private(set) var finished: [String] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Queues `message` about `name`, replacing any queued message about the same name.
    public mutating func enqueue(_ message: Message, about name: String, size: Int, notifyWhenFinished: Bool = false) {
        if let old = entries[name], old.notifies { finished.append(name) }
        nextID += 1
        entries[name] = Entry(message: message, name: name, size: size, transmits: 0, id: nextID, notifies: notifyWhenFinished)
    }

    /// Messages for one packet: as many as fit in `limit` bytes with `overhead` added per message; each taken
    /// counts one transmission, and those that reach `transmitLimit` leave the queue.
    public mutating func take(overhead: Int, limit: Int, transmitLimit: Int) -> [Message] {
        guard !entries.isEmpty else { return [] }
        let ordered = entries.values.sorted { a, b in
            if a.transmits != b.transmits { return a.transmits < b.transmits }
            if a.size != b.size { return a.size > b.size }
            return a.id > b.id
        }
        var used = 0
        var taken: [Message] = []
        for var entry in ordered where used + overhead + entry.size <= limit {
            used += overhead + entry.size
            taken.append(entry.message)
            entry.transmits += 1
            if entry.transmits >= transmitLimit {
                if entry.notifies { finished.append(entry.name) }
                entries[entry.name] = nil
            } else {
                entries[entry.name] = entry
            }
        }
        return taken
    }

    /// Drops everything queued (memberlist `Reset`).
    public mutating func removeAll() {
        for entry in entries.values where entry.notifies { finished.append(entry.name) }
        entries.removeAll()
    }

    /// The queued message about `name`, if any.
    public func message(about name: String) -> Message? { entries[name]?.message }

    public mutating func takeFinished() -> [String] {
        defer { finished.removeAll() }
        return finished
    }
}
