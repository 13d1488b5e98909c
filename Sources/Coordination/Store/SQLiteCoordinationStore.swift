import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

/// The store in one SQLite file shared by the processes of one host: WAL mode (readers never wait for the writer),
/// `busy_timeout` (a writer waits for another process's transaction instead of failing at once, and fails after
/// it rather than hanging), `synchronous=FULL` (a commit is on disk before a 201 is sent).
///
/// SQLite's clock is `unixepoch('subsec')`, which "returns exactly the same value for multiple invocations within the
/// same sqlite3_step() call" (SQLite's date and time functions, section 7), so one statement compares and sets the
/// lease by one reading. Transactions that write begin `IMMEDIATE`, taking the file's write lock at once, so the
/// fence checked at their start still holds at their commit: no other process can take the lease in between.
public final class SQLiteCoordinationStore: CoordinationStore {
    public static let schemaVersion = 2
    let path: String
    let connection: SQLiteConnection
    let threadPool: NIOThreadPool
    let serial = SerialAccess()
    let busyTimeout: Duration

    /// The store's clock in microseconds since the epoch.
    static let now = "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"

    /// Opens (creating) the file at `path`.
    public static func open(path: String, eventLoopGroup: any EventLoopGroup, busyTimeout: Duration = .seconds(2), logger: Logger) async throws -> SQLiteCoordinationStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            throw CoordinationStoreError.unavailable("the directory \(directory) of \(path) does not exist")
        }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        do {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoopGroup.any())
            return SQLiteCoordinationStore(path: path, connection: connection, threadPool: threadPool, busyTimeout: busyTimeout)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw CoordinationStoreError.unavailable("cannot open \(path): \(error)")
        }
    }

    init(path: String, connection: SQLiteConnection, threadPool: NIOThreadPool, busyTimeout: Duration) {
        self.path = path
        self.connection = connection
        self.threadPool = threadPool
        self.busyTimeout = busyTimeout
    }

    public func close() async {
        try? await connection.close()
        try? await threadPool.shutdownGracefully()
    }

    // MARK: Running statements

    @discardableResult
    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        do {
            return try await connection.query(sql, binds)
        } catch let error as CoordinationStoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw CoordinationStoreError.unavailable("\(error)")
        }
    }

    /// One transaction at a time on this connection; `IMMEDIATE` for writers.
    func transaction<T: Sendable>(immediate: Bool = true, _ body: @Sendable @escaping (SQLiteCoordinationStore) async throws -> T) async throws -> T {
        try await serial.run {
            try await self.query(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
            do {
                let result = try await body(self)
                try await self.query("COMMIT")
                return result
            } catch {
                _ = try? await self.connection.query("ROLLBACK", [])
                throw error
            }
        }
    }

    func single<T: Sendable>(_ body: @Sendable @escaping (SQLiteCoordinationStore) async throws -> T) async throws -> T {
        try await serial.run { try await body(self) }
    }

    // MARK: Schema

    static let migrations: [[String]] = [
        [
            "CREATE TABLE outrider_leases (grp TEXT PRIMARY KEY, holder TEXT, token INTEGER NOT NULL, expires_us INTEGER)",
            "CREATE TABLE outrider_log (grp TEXT NOT NULL, revision INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, leader TEXT NOT NULL, token INTEGER NOT NULL, time_us INTEGER NOT NULL, PRIMARY KEY (grp, revision))",
            "CREATE INDEX outrider_log_key ON outrider_log (grp, key, revision)",
            "CREATE TABLE outrider_revisions (grp TEXT PRIMARY KEY, revision INTEGER NOT NULL)",
            "CREATE TABLE outrider_idempotency (grp TEXT NOT NULL, idempotency_key TEXT NOT NULL, request TEXT NOT NULL, answer TEXT NOT NULL, time_us INTEGER NOT NULL, PRIMARY KEY (grp, idempotency_key))",
            "CREATE TABLE outrider_semaphores (grp TEXT NOT NULL, name TEXT NOT NULL, lim INTEGER NOT NULL, token INTEGER NOT NULL, PRIMARY KEY (grp, name))",
            "CREATE TABLE outrider_semaphore_slots (grp TEXT NOT NULL, name TEXT NOT NULL, holder TEXT NOT NULL, expires_us INTEGER NOT NULL, token INTEGER NOT NULL, PRIMARY KEY (grp, name, holder))",
            "CREATE TABLE outrider_members (grp TEXT NOT NULL, name TEXT NOT NULL, address TEXT NOT NULL, last_seen_us INTEGER NOT NULL, PRIMARY KEY (grp, name))",
        ],
        // 2: idempotency records expire; the leader prunes them by age.
        [
            "CREATE INDEX outrider_idempotency_time ON outrider_idempotency (grp, time_us)",
        ],
    ]

    public func migrate() async throws {
        try await single { store in
            // WAL is a property of the file, set once by whichever process comes first; the others find it.
            let mode = try await store.query("PRAGMA journal_mode = WAL")
            guard mode.first?.column("journal_mode")?.string?.lowercased() == "wal" else {
                throw CoordinationStoreError.unavailable("\(store.path) cannot be put in WAL mode")
            }
            try await store.query("PRAGMA busy_timeout = \(Int(store.busyTimeout.components.seconds * 1000 + store.busyTimeout.components.attoseconds / 1_000_000_000_000_000))")
            try await store.query("PRAGMA synchronous = FULL")
        }
        try await transaction { store in
            try await store.query("CREATE TABLE IF NOT EXISTS outrider_schema (version INTEGER NOT NULL)")
            let found = try await store.query("SELECT max(version) AS version FROM outrider_schema").first?.column("version")?.integer ?? 0
            let current = Int(found)
            guard current <= Self.schemaVersion else { throw CoordinationStoreError.schemaTooNew(found: current, known: Self.schemaVersion) }
            for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                for statement in statements { try await store.query(statement) }
                try await store.query("INSERT INTO outrider_schema (version) VALUES (?)", [.integer(index + 1)])
            }
        }
    }

    // MARK: The lease

    public func acquire(group: String, candidate: String, lease: Duration) async throws -> Lease.Outcome {
        try await single { store in
            let rows = try await store.query("""
                INSERT INTO outrider_leases (grp, holder, token, expires_us) VALUES (?1, ?2, 1, \(Self.now) + ?3)
                ON CONFLICT (grp) DO UPDATE SET holder = ?2, token = outrider_leases.token + 1, expires_us = \(Self.now) + ?3
                    WHERE outrider_leases.holder IS NULL OR outrider_leases.expires_us <= \(Self.now)
                RETURNING token, expires_us
                """, [.text(group), .text(candidate), .integer(Int(lease.microseconds))])
            if let row = rows.first, let token = row.column("token")?.integer, let expires = row.column("expires_us")?.integer {
                return .granted(LeaseGrant(group: group, holder: candidate, token: FencingToken(UInt64(token)), expiresAt: StoreTime(microsecondsSinceEpoch: Int64(expires)), duration: lease))
            }
            let held = try await store.query("SELECT holder, expires_us FROM outrider_leases WHERE grp = ?", [.text(group)]).first
            return .held(by: held?.column("holder")?.string ?? "", until: StoreTime(microsecondsSinceEpoch: Int64(held?.column("expires_us")?.integer ?? 0)))
        }
    }

    public func renew(group: String, candidate: String, token: FencingToken, lease: Duration) async throws -> Lease.Outcome {
        try await single { store in
            let rows = try await store.query("""
                UPDATE outrider_leases SET expires_us = \(Self.now) + ?4
                WHERE grp = ?1 AND holder = ?2 AND token = ?3 AND expires_us > \(Self.now)
                RETURNING expires_us
                """, [.text(group), .text(candidate), .integer(Int(token.value)), .integer(Int(lease.microseconds))])
            guard let expires = rows.first?.column("expires_us")?.integer else { return .lost }
            return .granted(LeaseGrant(group: group, holder: candidate, token: token, expiresAt: StoreTime(microsecondsSinceEpoch: Int64(expires)), duration: lease))
        }
    }

    public func release(group: String, candidate: String, token: FencingToken) async throws -> Bool {
        try await single { store in
            let rows = try await store.query(
                "UPDATE outrider_leases SET holder = NULL, expires_us = NULL WHERE grp = ? AND holder = ? AND token = ? RETURNING token",
                [.text(group), .text(candidate), .integer(Int(token.value))])
            return !rows.isEmpty
        }
    }

    public func lease(group: String) async throws -> (lease: Lease, now: StoreTime) {
        try await single { store in
            let row = try await store.query("SELECT holder, token, expires_us, \(Self.now) AS now FROM (SELECT 1) LEFT JOIN outrider_leases ON grp = ?", [.text(group)]).first
            let now = StoreTime(microsecondsSinceEpoch: Int64(row?.column("now")?.integer ?? 0))
            let expires = row?.column("expires_us")?.integer.map { StoreTime(microsecondsSinceEpoch: Int64($0)) }
            let lease = Lease(group: group, holder: row?.column("holder")?.string, expiresAt: expires, token: FencingToken(UInt64(row?.column("token")?.integer ?? 0)))
            return (lease, now)
        }
    }

    /// The fence, inside a writing transaction: `leader`'s term is the current one and unexpired now. Returns the
    /// store's clock.
    func fence(_ group: String, _ leader: LeaderIdentity) async throws -> StoreTime {
        let rows = try await query(
            "SELECT \(Self.now) AS now FROM outrider_leases WHERE grp = ? AND holder = ? AND token = ? AND expires_us > \(Self.now)",
            [.text(group), .text(leader.name), .integer(Int(leader.token.value))])
        guard let now = rows.first?.column("now")?.integer else { throw CoordinationStoreError.fenced }
        return StoreTime(microsecondsSinceEpoch: Int64(now))
    }

    // MARK: The log

    /// A batch in one `IMMEDIATE` transaction of at most six statements, however many Puts it holds: the fence
    /// with the store's clock and the group's revision, the batch's idempotency records (when it has keys), then,
    /// decided in between (``PutPlan``), the overwritten entries deleted, all entries inserted, all records
    /// stored and the revision moved, one statement each. Every statement is a hop to the connection's thread and
    /// back; a statement per Put made a batch of 30 cost 35 of them.
    public func put(_ batch: [PutRequest], group: String, as leader: LeaderIdentity, keepingKeysFor retention: Duration) async throws -> [PutOutcome] {
        let keys = Array(Set(batch.compactMap(\.idempotencyKey)))
        return try await transaction { store in
            let fenced = try await store.query("""
                SELECT \(Self.now) AS now, coalesce((SELECT revision FROM outrider_revisions WHERE grp = ?1), 0) AS revision
                FROM outrider_leases WHERE grp = ?1 AND holder = ?2 AND token = ?3 AND expires_us > \(Self.now)
                """, [.text(group), .text(leader.name), .integer(Int(leader.token.value))])
            guard let row = fenced.first, let clock = row.column("now")?.integer, let base = row.column("revision")?.integer else {
                throw CoordinationStoreError.fenced
            }
            let now = StoreTime(microsecondsSinceEpoch: Int64(clock))
            var remembered: [String: (record: IdempotencyRule.Record, storedAt: StoreTime)] = [:]
            if !keys.isEmpty {
                let decoder = JSONDecoder()
                let rows = try await store.query(
                    "SELECT idempotency_key, request, answer, time_us FROM outrider_idempotency WHERE grp = ?1 AND idempotency_key IN (\(Self.placeholders(keys.count, from: 2)))",
                    [.text(group)] + keys.map { .text($0) })
                for row in rows {
                    guard let key = row.column("idempotency_key")?.string, let requestText = row.column("request")?.string,
                          let answerText = row.column("answer")?.string, let time = row.column("time_us")?.integer
                    else { continue }
                    let record = IdempotencyRule.Record(
                        request: try decoder.decode(PutRequest.self, from: Data(requestText.utf8)),
                        answer: try decoder.decode(PutAnswer.self, from: Data(answerText.utf8)))
                    remembered[key] = (record, StoreTime(microsecondsSinceEpoch: Int64(time)))
                }
            }
            let plan = try PutPlan(batch, from: Int64(base), leader: leader, remembered: remembered, now: now, retention: retention)
            if !plan.overwritten.isEmpty {
                try await store.query("""
                    DELETE FROM outrider_log WHERE grp = ?1 AND revision IN (
                        SELECT max(revision) FROM outrider_log WHERE grp = ?1 AND key IN (\(Self.placeholders(plan.overwritten.count, from: 2))) GROUP BY key)
                    """, [.text(group)] + plan.overwritten.map { .text($0) })
            }
            if !plan.entryRevisions.isEmpty {
                // ?1 to ?4 are the batch's: group, leader, token, time; then each entry's revision, key and value.
                let rows = (0..<plan.entryRevisions.count).map { "(?1, ?\(5 + 3 * $0), ?\(6 + 3 * $0), ?\(7 + 3 * $0), ?2, ?3, ?4)" }
                var binds: [SQLiteData] = [.text(group), .text(leader.name), .integer(Int(leader.token.value)), .integer(Int(now.microsecondsSinceEpoch))]
                for index in plan.entryRevisions.indices {
                    binds += [.integer(Int(plan.entryRevisions[index])), .text(plan.entryKeys[index]), .text(plan.entryValues[index])]
                }
                try await store.query(
                    "INSERT INTO outrider_log (grp, revision, key, value, leader, token, time_us) VALUES \(rows.joined(separator: ", "))", binds)
            }
            if !plan.recordKeys.isEmpty {
                let rows = (0..<plan.recordKeys.count).map { "(?1, ?\(3 + 3 * $0), ?\(4 + 3 * $0), ?\(5 + 3 * $0), ?2)" }
                var binds: [SQLiteData] = [.text(group), .integer(Int(now.microsecondsSinceEpoch))]
                for index in plan.recordKeys.indices {
                    binds += [.text(plan.recordKeys[index]), .text(plan.recordRequests[index]), .text(plan.recordAnswers[index])]
                }
                try await store.query(
                    // An expired record not yet pruned gives way to the new one.
                    """
                    INSERT INTO outrider_idempotency (grp, idempotency_key, request, answer, time_us) VALUES \(rows.joined(separator: ", "))
                    ON CONFLICT (grp, idempotency_key) DO UPDATE SET request = excluded.request, answer = excluded.answer, time_us = excluded.time_us
                    """, binds)
            }
            if plan.revision != Int64(base) {
                try await store.query(
                    "INSERT INTO outrider_revisions (grp, revision) VALUES (?1, ?2) ON CONFLICT (grp) DO UPDATE SET revision = ?2",
                    [.text(group), .integer(Int(plan.revision))])
            }
            return plan.outcomes
        }
    }

    /// `?from, ?from+1, …`: `count` numbered parameters.
    static func placeholders(_ count: Int, from first: Int) -> String {
        (0..<count).map { "?\(first + $0)" }.joined(separator: ", ")
    }

    public func pruneIdempotencyKeys(group: String, olderThan retention: Duration, limit: Int) async throws -> Int {
        try await transaction { store in
            let rows = try await store.query("""
                DELETE FROM outrider_idempotency WHERE rowid IN (
                    SELECT rowid FROM outrider_idempotency WHERE grp = ?1 AND time_us <= \(Self.now) - ?2 LIMIT ?3
                ) RETURNING 1 AS gone
                """, [.text(group), .integer(Int(retention.microseconds)), .integer(limit)])
            return rows.count
        }
    }

    public func entries(group: String, key: String, limit: LogLimit, after: Int64?) async throws -> [LogEntry]? {
        let order: String, count: Int
        switch limit {
        case .oldest: (order, count) = ("ASC", 1)
        case .all: (order, count) = ("DESC", -1)
        case .latest: (order, count) = ("DESC", 1)
        case .newest(let n): (order, count) = ("DESC", n)
        }
        let rows = try await single { store in
            try await store.query(
                "SELECT key, value, revision, leader, token, time_us FROM outrider_log WHERE grp = ? AND key = ? AND revision > ? ORDER BY revision \(order) LIMIT ?",
                [.text(group), .text(key), .integer(Int(after ?? 0)), .integer(count)])
        }
        let entries = rows.compactMap { row -> LogEntry? in
            guard let value = row.column("value")?.string, let revision = row.column("revision")?.integer,
                  let leader = row.column("leader")?.string, let token = row.column("token")?.integer, let time = row.column("time_us")?.integer
            else { return nil }
            return LogEntry(key: key, value: value, revision: Int64(revision), leader: leader, token: FencingToken(UInt64(token)), time: StoreTime(microsecondsSinceEpoch: Int64(time)))
        }
        if entries.isEmpty, after != nil, try await latestRevision(group: group, key: key) != nil { return [] }
        guard !entries.isEmpty else { return nil }
        return order == "DESC" ? entries.reversed() : entries
    }

    public func latestRevision(group: String, key: String) async throws -> Int64? {
        try await single { store in
            try await store.query("SELECT max(revision) AS revision FROM outrider_log WHERE grp = ? AND key = ?", [.text(group), .text(key)])
                .first?.column("revision")?.integer.map(Int64.init)
        }
    }

    // MARK: Semaphores

    /// Reads a semaphore inside a transaction.
    func loadSemaphore(_ name: String, group: String) async throws -> Semaphore? {
        guard let row = try await query("SELECT lim, token FROM outrider_semaphores WHERE grp = ? AND name = ?", [.text(group), .text(name)]).first,
              let limit = row.column("lim")?.integer, let token = row.column("token")?.integer
        else { return nil }
        let slots = try await query("SELECT holder, expires_us, token FROM outrider_semaphore_slots WHERE grp = ? AND name = ? ORDER BY token", [.text(group), .text(name)])
            .compactMap { row -> Semaphore.Slot? in
                guard let holder = row.column("holder")?.string, let expires = row.column("expires_us")?.integer, let token = row.column("token")?.integer else { return nil }
                return Semaphore.Slot(holder: holder, expiresAt: StoreTime(microsecondsSinceEpoch: Int64(expires)), token: FencingToken(UInt64(token)))
            }
        return Semaphore(name: name, limit: max(1, Int(limit)), slots: slots, token: FencingToken(UInt64(token)))
    }

    /// Writes a semaphore back inside a transaction: its row and exactly its slots.
    func saveSemaphore(_ semaphore: Semaphore, group: String) async throws {
        try await query(
            "INSERT INTO outrider_semaphores (grp, name, lim, token) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (grp, name) DO UPDATE SET lim = ?3, token = ?4",
            [.text(group), .text(semaphore.name), .integer(semaphore.limit), .integer(Int(semaphore.token.value))])
        try await query("DELETE FROM outrider_semaphore_slots WHERE grp = ? AND name = ?", [.text(group), .text(semaphore.name)])
        for slot in semaphore.slots {
            try await query(
                "INSERT INTO outrider_semaphore_slots (grp, name, holder, expires_us, token) VALUES (?, ?, ?, ?, ?)",
                [.text(group), .text(semaphore.name), .text(slot.holder), .integer(Int(slot.expiresAt.microsecondsSinceEpoch)), .integer(Int(slot.token.value))])
        }
    }

    func changeSemaphore<T: Sendable>(_ name: String, group: String, as leader: LeaderIdentity, create limit: Int?, _ change: @Sendable @escaping (inout Semaphore, StoreTime) -> T?) async throws -> T? {
        try await transaction { store in
            let now = try await store.fence(group, leader)
            guard var semaphore = try await store.loadSemaphore(name, group: group) ?? limit.map({ Semaphore(name: name, limit: $0) }) else { return nil }
            let result = change(&semaphore, now)
            try await store.saveSemaphore(semaphore, group: group)
            return result
        }
    }

    public func acquire(semaphore name: String, limit: Int, holder: String, ttl: Duration, group: String, as leader: LeaderIdentity) async throws -> Semaphore.Outcome {
        try await changeSemaphore(name, group: group, as: leader, create: limit) { semaphore, now in
            semaphore.acquire(by: holder, limit: limit, ttl: ttl, at: now)
        } ?? .notHolder
    }

    public func refresh(semaphore name: String, holder: String, ttl: Duration, group: String, as leader: LeaderIdentity) async throws -> Semaphore.Outcome {
        try await changeSemaphore(name, group: group, as: leader, create: nil) { semaphore, now in
            semaphore.refresh(by: holder, ttl: ttl, at: now)
        } ?? .notHolder
    }

    public func release(semaphore name: String, holder: String, group: String, as leader: LeaderIdentity) async throws -> Bool {
        try await changeSemaphore(name, group: group, as: leader, create: nil) { semaphore, now in
            semaphore.expire(at: now)
            return semaphore.release(by: holder)
        } ?? false
    }

    public func semaphore(_ name: String, group: String) async throws -> (semaphore: Semaphore, now: StoreTime)? {
        try await transaction(immediate: false) { store in
            guard let semaphore = try await store.loadSemaphore(name, group: group) else { return nil }
            let now = try await store.query("SELECT \(Self.now) AS now").first?.column("now")?.integer ?? 0
            return (semaphore, StoreTime(microsecondsSinceEpoch: Int64(now)))
        }
    }

    // MARK: Members

    public func heartbeat(group: String, member: String, address: String) async throws {
        try await single { store in
            try await store.query(
                "INSERT INTO outrider_members (grp, name, address, last_seen_us) VALUES (?1, ?2, ?3, \(Self.now)) ON CONFLICT (grp, name) DO UPDATE SET address = ?3, last_seen_us = \(Self.now)",
                [.text(group), .text(member), .text(address)])
        }
    }

    public func members(group: String) async throws -> (members: [MemberRecord], now: StoreTime) {
        try await single { store in
            let rows = try await store.query("SELECT name, address, last_seen_us, \(Self.now) AS now FROM outrider_members WHERE grp = ? ORDER BY name", [.text(group)])
            var now = rows.first?.column("now")?.integer
            if now == nil { now = try await store.query("SELECT \(Self.now) AS now").first?.column("now")?.integer }
            let members = rows.compactMap { row -> MemberRecord? in
                guard let name = row.column("name")?.string, let address = row.column("address")?.string, let seen = row.column("last_seen_us")?.integer else { return nil }
                return MemberRecord(name: name, address: address, lastSeen: StoreTime(microsecondsSinceEpoch: Int64(seen)))
            }
            return (members, StoreTime(microsecondsSinceEpoch: Int64(now ?? 0)))
        }
    }
}

extension Duration {
    /// Whole microseconds, as the stores keep times.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
