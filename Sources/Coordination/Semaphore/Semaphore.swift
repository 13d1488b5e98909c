/// A counting semaphore as the store keeps it: a limit and the holders of its slots, each until an expiry by the
/// store's clock.
///
/// hedge's semaphore (`NewSemaphore(name, limit)`, `Acquire`, `Release`) keeps its slots as rows that stay until
/// released, so a holder that dies leaks its slot forever; here each slot has a time to live that the holder
/// refreshes, and an expired slot is free again. Every grant gets a token strictly greater than the semaphore's
/// grants before it, for the holder to fence its own writes with (as the leader's ``FencingToken``). A request
/// that names another limit than the semaphore's is refused rather than silently resizing it (hedge errors too).
///
/// A pure value: the store reads its own clock in the transaction and passes it as `now`.
public struct Semaphore: Sendable, Hashable {
    public struct Slot: Sendable, Hashable {
        public var holder: String
        public var expiresAt: StoreTime
        public var token: FencingToken

        public init(holder: String, expiresAt: StoreTime, token: FencingToken) {
            self.holder = holder
            self.expiresAt = expiresAt
            self.token = token
        }
    }

    public let name: String
    public let limit: Int
    public private(set) var slots: [Slot]
    /// The last token granted.
    public private(set) var token: FencingToken

    public init(name: String, limit: Int, slots: [Slot] = [], token: FencingToken = .none) {
        precondition(limit > 0, "a semaphore has at least one slot")
        self.name = name
        self.limit = limit
        self.slots = slots
        self.token = token
    }

    public enum Outcome: Sendable, Hashable {
        case granted(Slot)
        /// Every slot is held until at least `until`'s earliest expiry.
        case full
        /// The request named another limit than the semaphore's.
        case limitMismatch(existing: Int)
        /// A refresh or release by a holder without a slot (expired, released, never held).
        case notHolder
    }

    /// The slots unexpired at `now`.
    public func holders(at now: StoreTime) -> [Slot] {
        slots.filter { now < $0.expiresAt }
    }

    /// Frees the slots that expired at `now`; returns them.
    @discardableResult
    public mutating func expire(at now: StoreTime) -> [Slot] {
        let expired = slots.filter { now >= $0.expiresAt }
        slots.removeAll { now >= $0.expiresAt }
        return expired
    }

    /// A slot for `holder` for `ttl` from `now`. A holder that already has a slot keeps it, refreshed, with its
    /// token (an acquire retried after a lost answer must not take a second slot).
    public mutating func acquire(by holder: String, limit requested: Int, ttl: Duration, at now: StoreTime) -> Outcome {
        guard requested == limit else { return .limitMismatch(existing: limit) }
        expire(at: now)
        if let index = slots.firstIndex(where: { $0.holder == holder }) {
            slots[index].expiresAt = now + ttl
            return .granted(slots[index])
        }
        guard slots.count < limit else { return .full }
        token = token.next
        let slot = Slot(holder: holder, expiresAt: now + ttl, token: token)
        slots.append(slot)
        return .granted(slot)
    }

    /// Extends `holder`'s slot to `ttl` from `now`; an expired slot is not revived (another may hold it already).
    public mutating func refresh(by holder: String, ttl: Duration, at now: StoreTime) -> Outcome {
        expire(at: now)
        guard let index = slots.firstIndex(where: { $0.holder == holder }) else { return .notHolder }
        slots[index].expiresAt = now + ttl
        return .granted(slots[index])
    }

    /// Frees `holder`'s slot. Returns whether it held one.
    @discardableResult
    public mutating func release(by holder: String) -> Bool {
        guard let index = slots.firstIndex(where: { $0.holder == holder }) else { return false }
        slots.remove(at: index)
        return true
    }
}
