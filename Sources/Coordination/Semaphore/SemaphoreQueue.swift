/// The acquirers waiting for a full semaphore's slots, first come first served (hedge's `Acquire` retries on a
/// timer, so whoever retries at the right moment wins and a waiter can starve).
///
/// The leader keeps one queue per semaphore. A new acquirer goes behind those already waiting even when a slot is
/// free at that instant, so a waiter is never overtaken; when a slot frees (a release, an expiry) the leader
/// offers it to the head of the queue. A waiter that gives up (its `wait` ran out, its client left) is removed.
///
/// A pure value: `Waiter` is what the shell resumes (a continuation); the clock is read by the caller.
public struct SemaphoreQueue<Waiter> {
    public struct Entry {
        public var id: UInt64
        public var holder: String
        public var limit: Int
        public var ttl: Duration
        public var deadline: ContinuousClock.Instant
        public var waiter: Waiter
    }

    private var entries: [Entry] = []
    private var nextID: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    public var first: Entry? { entries.first }

    /// Queues an acquirer; returns the id to remove it by.
    public mutating func append(holder: String, limit: Int, ttl: Duration, deadline: ContinuousClock.Instant, waiter: Waiter) -> UInt64 {
        nextID += 1
        entries.append(Entry(id: nextID, holder: holder, limit: limit, ttl: ttl, deadline: deadline, waiter: waiter))
        return nextID
    }

    /// Removes the head of the queue (it was granted, or refused for good).
    public mutating func removeFirst() -> Entry? {
        entries.isEmpty ? nil : entries.removeFirst()
    }

    /// Removes the entry `id` (its client left); nil when it was already served.
    public mutating func remove(id: UInt64) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
        return entries.remove(at: index)
    }

    /// Removes and returns the entries whose deadline passed at `now`.
    public mutating func expire(at now: ContinuousClock.Instant) -> [Entry] {
        let expired = entries.filter { $0.deadline <= now }
        entries.removeAll { $0.deadline <= now }
        return expired
    }

    /// The earliest deadline, for the shell's timer.
    public var earliestDeadline: ContinuousClock.Instant? { entries.map(\.deadline).min() }
}

extension SemaphoreQueue.Entry: Sendable where Waiter: Sendable {}
extension SemaphoreQueue: Sendable where Waiter: Sendable {}
