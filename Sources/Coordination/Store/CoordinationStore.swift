/// Where a group's lease, log, semaphores and members live: SQLite for the processes of one host
/// (``SQLiteCoordinationStore``), PostgreSQL across hosts.
///
/// Every call is one transaction. The lease is taken and renewed by one conditional statement that reads the
/// store's own clock, so no two hosts' clocks are ever compared; every write made as leader (``put(_:group:as:)``,
/// the semaphore calls) checks in its own transaction that `leader`'s term `token` is still the current one,
/// unexpired by the store's clock, and is refused with ``CoordinationStoreError/fenced`` otherwise: a deposed leader
/// that has not noticed yet cannot write.
public protocol CoordinationStore: Sendable {
    /// Creates or migrates the schema (versioned in `outrider_schema`).
    func migrate() async throws

    func acquire(group: String, candidate: String, lease: Duration) async throws -> Lease.Outcome
    func renew(group: String, candidate: String, token: FencingToken, lease: Duration) async throws -> Lease.Outcome
    @discardableResult
    func release(group: String, candidate: String, token: FencingToken) async throws -> Bool
    /// The lease row and the store's clock when it was read.
    func lease(group: String) async throws -> (lease: Lease, now: StoreTime)

    /// Commits a batch of writes as `leader` with `token`, in one transaction. Each write's answer is in the order
    /// given: committed, replayed (an idempotency key seen before), or refused (the key used for another request).
    /// An idempotency key stored more than `retention` ago (by the store's clock) counts as never seen.
    func put(_ batch: [PutRequest], group: String, as leader: LeaderIdentity, keepingKeysFor retention: Duration) async throws -> [PutOutcome]
    /// Deletes up to `limit` idempotency records stored more than `retention` ago; returns how many went. The
    /// leader calls it now and then, so that the records of a group that writes with keys do not grow for ever.
    @discardableResult
    func pruneIdempotencyKeys(group: String, olderThan retention: Duration, limit: Int) async throws -> Int
    /// The key's entries with a revision above `after` (all when nil), chosen among them by `limit`, oldest first;
    /// nil when the key has none at all.
    func entries(group: String, key: String, limit: LogLimit, after: Int64?) async throws -> [LogEntry]?
    /// The key's newest revision, or nil.
    func latestRevision(group: String, key: String) async throws -> Int64?

    func acquire(semaphore: String, limit: Int, holder: String, ttl: Duration, group: String, as leader: LeaderIdentity) async throws -> Semaphore.Outcome
    func refresh(semaphore: String, holder: String, ttl: Duration, group: String, as leader: LeaderIdentity) async throws -> Semaphore.Outcome
    func release(semaphore: String, holder: String, group: String, as leader: LeaderIdentity) async throws -> Bool
    /// The semaphore and the store's clock, or nil when it was never acquired.
    func semaphore(_ name: String, group: String) async throws -> (semaphore: Semaphore, now: StoreTime)?

    /// Records that `member` is alive at `address` (not fenced: each member writes its own row).
    func heartbeat(group: String, member: String, address: String) async throws
    func members(group: String) async throws -> (members: [MemberRecord], now: StoreTime)

    func close() async
}

extension CoordinationStore {
    /// A put whose idempotency keys are kept for ``IdempotencyRule/defaultRetention``.
    public func put(_ batch: [PutRequest], group: String, as leader: LeaderIdentity) async throws -> [PutOutcome] {
        try await put(batch, group: group, as: leader, keepingKeysFor: IdempotencyRule.defaultRetention)
    }
}

/// A leader as the store fences it.
public struct LeaderIdentity: Sendable, Hashable {
    public var name: String
    public var token: FencingToken

    public init(name: String, token: FencingToken) {
        self.name = name
        self.token = token
    }
}

public enum PutOutcome: Sendable, Hashable {
    case committed(PutAnswer)
    case replayed(PutAnswer)
    case conflict
}

/// A member's row: its name, the address of its peer listener, and when it was last heard of by the store's clock.
public struct MemberRecord: Sendable, Hashable {
    public var name: String
    public var address: String
    public var lastSeen: StoreTime

    public init(name: String, address: String, lastSeen: StoreTime) {
        self.name = name
        self.address = address
        self.lastSeen = lastSeen
    }
}

public enum CoordinationStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The write's term is not the current one: another leader was elected, or the term expired.
    case fenced
    /// The store could not be reached or answered with an error.
    case unavailable(String)
    /// The store's schema is newer than this build knows.
    case schemaTooNew(found: Int, known: Int)

    public var description: String {
        switch self {
        case .fenced: "the write was refused: this member's leadership term is over"
        case .unavailable(let reason): "store unavailable: \(reason)"
        case .schemaTooNew(let found, let known): "the store's schema is version \(found), newer than this outrider's \(known)"
        }
    }
}
