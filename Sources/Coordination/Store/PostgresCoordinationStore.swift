import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The store in PostgreSQL, for members on several hosts: the role Spanner plays for hedge.
///
/// The store's clock is `now()`, the start of the statement's transaction: the lease's one conditional statement
/// reads it once. A leader's writing transaction locks the lease row (`FOR UPDATE`) as it checks the fence, so a
/// candidate's `UPDATE` of that row waits for the commit: a new term can begin only after the old leader's last
/// write, never between its check and its commit.
public final class PostgresCoordinationStore: CoordinationStore {
    public static let schemaVersion = 2
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    /// Each group's last revision as this store last wrote it: a leader's batch with no idempotency key then
    /// needs no read before its one statement, which checks the revision is still this and else writes nothing.
    private let revisions = Mutex<[String: Int64]>([:])

    static let now = "(extract(epoch from now()) * 1000000)::bigint"

    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`).
    public init(url: String, eventLoopGroup: any EventLoopGroup, logger: Logger) throws {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw CoordinationStoreError.unavailable("'\(url)' is not a postgres:// URL with a host")
        }
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        // libpq's meanings: require encrypts without checking the certificate, verify-ca checks it against the
        // system's roots, verify-full checks the host name too.
        case "require", "verify-ca", "verify-full":
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = mode == "require" ? .none : mode == "verify-ca" ? .noHostnameVerification : .fullVerification
            tls = .require(configuration)
        default:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = .prefer(configuration)
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password?.removingPercentEncoding ?? components.password, database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.connectTimeout = .seconds(2)
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration, eventLoopGroup: eventLoopGroup, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.running = Task { await client.run() }
    }

    public func close() async {
        running.cancel()
        _ = await running.value
    }

    /// How long one call may take: the client's pool waits for a connection to a server that is down instead of
    /// failing, so a call gives up after this and reports the store unavailable.
    static let callTimeout: Duration = .seconds(3)

    func call<T: Sendable>(_ body: @Sendable @escaping () async throws -> T) async throws -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: Self.callTimeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw CoordinationStoreError.unavailable("PostgreSQL did not answer within \(Self.callTimeout)")
                }
                return result
            }
        } catch let error as CoordinationStoreError {
            throw error
        } catch let error as PostgresTransactionError {
            // The fence (or another refusal of ours) thrown inside the transaction, rolled back.
            if let refusal = error.closureError as? CoordinationStoreError { throw refusal }
            throw CoordinationStoreError.unavailable("\(error.closureError ?? error.commitError ?? error.beginError ?? error)")
        } catch let error as PSQLError {
            throw CoordinationStoreError.unavailable(String(reflecting: error.serverInfo?[.message] ?? "\(error.code)"))
        } catch {
            throw CoordinationStoreError.unavailable("\(error)")
        }
    }

    static let migrations: [[String]] = [
        [
            "CREATE TABLE outrider_leases (grp TEXT PRIMARY KEY, holder TEXT, token BIGINT NOT NULL, expires_us BIGINT)",
            "CREATE TABLE outrider_log (grp TEXT NOT NULL, revision BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, leader TEXT NOT NULL, token BIGINT NOT NULL, time_us BIGINT NOT NULL, PRIMARY KEY (grp, revision))",
            "CREATE INDEX outrider_log_key ON outrider_log (grp, key, revision)",
            "CREATE TABLE outrider_revisions (grp TEXT PRIMARY KEY, revision BIGINT NOT NULL)",
            "CREATE TABLE outrider_idempotency (grp TEXT NOT NULL, idempotency_key TEXT NOT NULL, request TEXT NOT NULL, answer TEXT NOT NULL, time_us BIGINT NOT NULL, PRIMARY KEY (grp, idempotency_key))",
            "CREATE TABLE outrider_semaphores (grp TEXT NOT NULL, name TEXT NOT NULL, lim BIGINT NOT NULL, token BIGINT NOT NULL, PRIMARY KEY (grp, name))",
            "CREATE TABLE outrider_semaphore_slots (grp TEXT NOT NULL, name TEXT NOT NULL, holder TEXT NOT NULL, expires_us BIGINT NOT NULL, token BIGINT NOT NULL, PRIMARY KEY (grp, name, holder))",
            "CREATE TABLE outrider_members (grp TEXT NOT NULL, name TEXT NOT NULL, address TEXT NOT NULL, last_seen_us BIGINT NOT NULL, PRIMARY KEY (grp, name))",
        ],
        // 2: idempotency records expire; the leader prunes them by age.
        [
            "CREATE INDEX outrider_idempotency_time ON outrider_idempotency (grp, time_us)",
        ],
    ]

    public func migrate() async throws {
        try await call { [self] in
            try await client.withTransaction(logger: logger) { connection in
                // Members starting together: one migrates, the others wait and find the tables made.
                try await connection.query("SELECT pg_advisory_xact_lock(7245019)", logger: logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS outrider_schema (version INTEGER NOT NULL)", logger: logger)
                var current = 0
                for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM outrider_schema", logger: logger).decode(Int.self) {
                    current = version
                }
                guard current <= Self.schemaVersion else { throw CoordinationStoreError.schemaTooNew(found: current, known: Self.schemaVersion) }
                for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                    for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await connection.query("INSERT INTO outrider_schema (version) VALUES (\(index + 1))", logger: logger)
                }
            }
        }
    }

    // MARK: The lease

    public func acquire(group: String, candidate: String, lease: Duration) async throws -> Lease.Outcome {
        try await call { [self] in
            let micros = lease.microseconds
            let rows = try await client.query("""
                INSERT INTO outrider_leases (grp, holder, token, expires_us) VALUES (\(group), \(candidate), 1, \(unescaped: Self.now) + \(micros))
                ON CONFLICT (grp) DO UPDATE SET holder = excluded.holder, token = outrider_leases.token + 1, expires_us = excluded.expires_us
                    WHERE outrider_leases.holder IS NULL OR outrider_leases.expires_us <= \(unescaped: Self.now)
                RETURNING token, expires_us
                """, logger: logger)
            for try await (token, expires) in rows.decode((Int64, Int64).self) {
                return .granted(LeaseGrant(group: group, holder: candidate, token: FencingToken(UInt64(token)), expiresAt: StoreTime(microsecondsSinceEpoch: expires), duration: lease))
            }
            for try await (holder, expires) in try await client.query("SELECT coalesce(holder, ''), coalesce(expires_us, 0) FROM outrider_leases WHERE grp = \(group)", logger: logger).decode((String, Int64).self) {
                return .held(by: holder, until: StoreTime(microsecondsSinceEpoch: expires))
            }
            return .held(by: "", until: StoreTime(microsecondsSinceEpoch: 0))
        }
    }

    public func renew(group: String, candidate: String, token: FencingToken, lease: Duration) async throws -> Lease.Outcome {
        try await call { [self] in
            let rows = try await client.query("""
                UPDATE outrider_leases SET expires_us = \(unescaped: Self.now) + \(lease.microseconds)
                WHERE grp = \(group) AND holder = \(candidate) AND token = \(Int64(token.value)) AND expires_us > \(unescaped: Self.now)
                RETURNING expires_us
                """, logger: logger)
            for try await expires in rows.decode(Int64.self) {
                return .granted(LeaseGrant(group: group, holder: candidate, token: token, expiresAt: StoreTime(microsecondsSinceEpoch: expires), duration: lease))
            }
            return .lost
        }
    }

    public func release(group: String, candidate: String, token: FencingToken) async throws -> Bool {
        try await call { [self] in
            let rows = try await client.query(
                "UPDATE outrider_leases SET holder = NULL, expires_us = NULL WHERE grp = \(group) AND holder = \(candidate) AND token = \(Int64(token.value)) RETURNING token",
                logger: logger)
            for try await _ in rows.decode(Int64.self) { return true }
            return false
        }
    }

    public func lease(group: String) async throws -> (lease: Lease, now: StoreTime) {
        try await call { [self] in
            let rows = try await client.query("""
                SELECT l.holder, coalesce(l.token, 0), l.expires_us, \(unescaped: Self.now)
                FROM (SELECT 1) AS one LEFT JOIN outrider_leases AS l ON l.grp = \(group)
                """, logger: logger)
            for try await (holder, token, expires, now) in rows.decode((String?, Int64, Int64?, Int64).self) {
                let lease = Lease(group: group, holder: holder, expiresAt: expires.map(StoreTime.init(microsecondsSinceEpoch:)), token: FencingToken(UInt64(token)))
                return (lease, StoreTime(microsecondsSinceEpoch: now))
            }
            throw CoordinationStoreError.unavailable("no answer for the lease")
        }
    }

    static func fence(_ connection: PostgresConnection, _ group: String, _ leader: LeaderIdentity, _ logger: Logger) async throws -> StoreTime {
        let rows = try await connection.query("""
            SELECT \(unescaped: now) FROM outrider_leases
            WHERE grp = \(group) AND holder = \(leader.name) AND token = \(Int64(leader.token.value)) AND expires_us > \(unescaped: now)
            FOR UPDATE
            """, logger: logger)
        for try await now in rows.decode(Int64.self) { return StoreTime(microsecondsSinceEpoch: now) }
        throw CoordinationStoreError.fenced
    }

    // MARK: The log

    /// A batch costs one round trip when no Put carries an idempotency key and this store knows the revision,
    /// two otherwise (a read of the clock, the revision and the batch's idempotency records, then the write); the
    /// step-by-step transaction took six statements and more per batch, each a round trip to the server.
    ///
    /// The write is one statement, so one implicit transaction and one commit: it locks the lease row as it checks
    /// the fence (as ``fence(_:_:_:_:)`` does), checks that the group's revision is the one the answers were
    /// numbered from, and only then deletes the entries overwritten, inserts the entries, stores the idempotency
    /// records and moves the revision. Reading before the write outside its transaction is safe because only the
    /// fenced leader writes these rows and its batches go one at a time (``PutBatch``): a new leader's term starts
    /// after the old leader's last commit, and a stale read makes the write's checks fail, not write wrongly.
    /// When the statement writes nothing (fenced, or the revision moved), the batch goes again through
    /// ``putStepByStep(_:group:as:keepingKeysFor:)``, which tells the two apart.
    public func put(_ batch: [PutRequest], group: String, as leader: LeaderIdentity, keepingKeysFor retention: Duration) async throws -> [PutOutcome] {
        let logger = logger
        let keys = Array(Set(batch.compactMap(\.idempotencyKey)))
        let cached = revisions.withLock { $0[group] }
        let written: PutPlan? = try await call { [self] () -> PutPlan? in
            var base: Int64
            var now: StoreTime?
            var remembered: [String: (record: IdempotencyRule.Record, storedAt: StoreTime)] = [:]
            if let cached, keys.isEmpty {
                base = cached
            } else {
                base = 0
                let decoder = JSONDecoder()
                for try await (clock, revision, key, requestText, answerText, time) in try await client.query("""
                    SELECT \(unescaped: Self.now), coalesce((SELECT revision FROM outrider_revisions WHERE grp = \(group)), 0),
                        i.idempotency_key, i.request, i.answer, i.time_us
                    FROM (SELECT 1) AS one LEFT JOIN outrider_idempotency AS i ON i.grp = \(group) AND i.idempotency_key = ANY(\(keys))
                    """, logger: logger).decode((Int64, Int64, String?, String?, String?, Int64?).self) {
                    now = StoreTime(microsecondsSinceEpoch: clock)
                    base = revision
                    if let key, let requestText, let answerText, let time {
                        let record = IdempotencyRule.Record(
                            request: try decoder.decode(PutRequest.self, from: Data(requestText.utf8)),
                            answer: try decoder.decode(PutAnswer.self, from: Data(answerText.utf8)))
                        remembered[key] = (record, StoreTime(microsecondsSinceEpoch: time))
                    }
                }
            }
            let plan = try PutPlan(batch, from: base, leader: leader, remembered: remembered, now: now, retention: retention)
            for try await revision in try await client.query("""
                WITH fence AS (
                    SELECT \(unescaped: Self.now) AS now_us FROM outrider_leases
                    WHERE grp = \(group) AND holder = \(leader.name) AND token = \(Int64(leader.token.value)) AND expires_us > \(unescaped: Self.now)
                        AND coalesce((SELECT revision FROM outrider_revisions WHERE grp = \(group)), 0) = \(base)
                    FOR UPDATE
                ), revised AS (
                    INSERT INTO outrider_revisions (grp, revision) SELECT \(group), \(plan.revision) FROM fence
                    ON CONFLICT (grp) DO UPDATE SET revision = excluded.revision
                    RETURNING revision
                ), overwritten AS (
                    DELETE FROM outrider_log WHERE EXISTS (SELECT 1 FROM fence) AND grp = \(group) AND revision IN (
                        SELECT max(revision) FROM outrider_log WHERE grp = \(group) AND key = ANY(\(plan.overwritten)) GROUP BY key)
                ), logged AS (
                    INSERT INTO outrider_log (grp, revision, key, value, leader, token, time_us)
                    SELECT \(group), entry.revision, entry.key, entry.value, \(leader.name), \(Int64(leader.token.value)), fence.now_us
                    FROM fence, unnest(\(plan.entryRevisions)::bigint[], \(plan.entryKeys)::text[], \(plan.entryValues)::text[]) AS entry(revision, key, value)
                ), recorded AS (
                    INSERT INTO outrider_idempotency (grp, idempotency_key, request, answer, time_us)
                    SELECT \(group), record.key, record.request, record.answer, fence.now_us
                    FROM fence, unnest(\(plan.recordKeys)::text[], \(plan.recordRequests)::text[], \(plan.recordAnswers)::text[]) AS record(key, request, answer)
                    ON CONFLICT (grp, idempotency_key) DO UPDATE SET request = excluded.request, answer = excluded.answer, time_us = excluded.time_us
                )
                SELECT revision FROM revised
                """, logger: logger).decode(Int64.self) {
                guard revision == plan.revision else { break }
                return plan
            }
            return nil
        }
        if let written {
            revisions.withLock { $0[group] = written.revision }
            return written.outcomes
        }
        revisions.withLock { $0[group] = nil }
        return try await putStepByStep(batch, group: group, as: leader, keepingKeysFor: retention)
    }

    /// The batch in one transaction of a statement per step (fence, revision, each idempotency lookup, each
    /// insert): the path taken when ``put(_:group:as:keepingKeysFor:)``'s one statement wrote nothing, so that
    /// a fenced leader gets ``CoordinationStoreError/fenced`` and a stale revision is read again under the lock.
    func putStepByStep(_ batch: [PutRequest], group: String, as leader: LeaderIdentity, keepingKeysFor retention: Duration) async throws -> [PutOutcome] {
        let logger = logger
        return try await call { [self] in
            try await client.withTransaction(logger: logger) { connection in
                let now = try await Self.fence(connection, group, leader, logger)
                var revision: Int64 = 0
                for try await value in try await connection.query("SELECT revision FROM outrider_revisions WHERE grp = \(group) FOR UPDATE", logger: logger).decode(Int64.self) {
                    revision = value
                }
                let encoder = JSONEncoder(), decoder = JSONDecoder()
                var outcomes: [PutOutcome] = []
                for request in batch {
                    var remembered: IdempotencyRule.Record?
                    var storedAt: StoreTime?
                    if let key = request.idempotencyKey {
                        for try await (requestText, answerText, time) in try await connection.query(
                            "SELECT request, answer, time_us FROM outrider_idempotency WHERE grp = \(group) AND idempotency_key = \(key)", logger: logger
                        ).decode((String, String, Int64).self) {
                            remembered = IdempotencyRule.Record(
                                request: try decoder.decode(PutRequest.self, from: Data(requestText.utf8)),
                                answer: try decoder.decode(PutAnswer.self, from: Data(answerText.utf8)))
                            storedAt = StoreTime(microsecondsSinceEpoch: time)
                        }
                    }
                    switch IdempotencyRule.decide(request, remembered: remembered, storedAt: storedAt, now: now, retention: retention) {
                    case .replay(let answer): outcomes.append(.replayed(answer)); continue
                    case .conflict: outcomes.append(.conflict); continue
                    case .write: break
                    }
                    if request.mode == .overwrite {
                        try await connection.query("""
                            DELETE FROM outrider_log WHERE grp = \(group) AND revision = (SELECT max(revision) FROM outrider_log WHERE grp = \(group) AND key = \(request.key))
                            """, logger: logger)
                    }
                    revision += 1
                    try await connection.query("""
                        INSERT INTO outrider_log (grp, revision, key, value, leader, token, time_us)
                        VALUES (\(group), \(revision), \(request.key), \(request.value), \(leader.name), \(Int64(leader.token.value)), \(now.microsecondsSinceEpoch))
                        """, logger: logger)
                    let answer = PutAnswer(key: request.key, revision: revision, leader: leader.name, token: leader.token)
                    if let key = request.idempotencyKey {
                        let requestText = String(decoding: try encoder.encode(IdempotencyRule.Record(request: request, answer: answer).request), as: UTF8.self)
                        let answerText = String(decoding: try encoder.encode(answer), as: UTF8.self)
                        try await connection.query("""
                            INSERT INTO outrider_idempotency (grp, idempotency_key, request, answer, time_us)
                            VALUES (\(group), \(key), \(requestText), \(answerText), \(now.microsecondsSinceEpoch))
                            ON CONFLICT (grp, idempotency_key) DO UPDATE SET request = excluded.request, answer = excluded.answer, time_us = excluded.time_us
                            """, logger: logger)
                    }
                    outcomes.append(.committed(answer))
                }
                try await connection.query("""
                    INSERT INTO outrider_revisions (grp, revision) VALUES (\(group), \(revision))
                    ON CONFLICT (grp) DO UPDATE SET revision = excluded.revision
                    """, logger: logger)
                return outcomes
            }
        }
    }

    public func pruneIdempotencyKeys(group: String, olderThan retention: Duration, limit: Int) async throws -> Int {
        try await call { [self] in
            var gone = 0
            for try await _ in try await client.query("""
                DELETE FROM outrider_idempotency WHERE ctid IN (
                    SELECT ctid FROM outrider_idempotency WHERE grp = \(group) AND time_us <= \(unescaped: Self.now) - \(retention.microseconds) LIMIT \(Int64(limit))
                ) RETURNING 1
                """, logger: logger).decode(Int.self) {
                gone += 1
            }
            return gone
        }
    }

    public func entries(group: String, key: String, limit: LogLimit, after: Int64?) async throws -> [LogEntry]? {
        let descending: Bool, count: Int64?
        switch limit {
        case .oldest: (descending, count) = (false, 1)
        case .all: (descending, count) = (false, nil)
        case .latest: (descending, count) = (true, 1)
        case .newest(let n): (descending, count) = (true, Int64(n))
        }
        let entries: [LogEntry] = try await call { [self] in
            let rows = try await client.query("""
                SELECT value, revision, leader, token, time_us FROM outrider_log
                WHERE grp = \(group) AND key = \(key) AND revision > \(after ?? 0)
                ORDER BY revision \(unescaped: descending ? "DESC" : "ASC") LIMIT \(count)
                """, logger: logger)
            var entries: [LogEntry] = []
            for try await (value, revision, leader, token, time) in rows.decode((String, Int64, String, Int64, Int64).self) {
                entries.append(LogEntry(key: key, value: value, revision: revision, leader: leader, token: FencingToken(UInt64(token)), time: StoreTime(microsecondsSinceEpoch: time)))
            }
            return descending ? entries.reversed() : entries
        }
        if entries.isEmpty, after != nil, try await latestRevision(group: group, key: key) != nil { return [] }
        return entries.isEmpty ? nil : entries
    }

    public func latestRevision(group: String, key: String) async throws -> Int64? {
        try await call { [self] in
            for try await revision in try await client.query("SELECT max(revision) FROM outrider_log WHERE grp = \(group) AND key = \(key)", logger: logger).decode(Int64?.self) {
                return revision
            }
            return nil
        }
    }

    // MARK: Semaphores

    static func loadSemaphore(_ connection: PostgresConnection, _ name: String, _ group: String, lock: Bool, _ logger: Logger) async throws -> Semaphore? {
        var found: (Int64, Int64)?
        for try await row in try await connection.query(
            "SELECT lim, token FROM outrider_semaphores WHERE grp = \(group) AND name = \(name) \(unescaped: lock ? "FOR UPDATE" : "")", logger: logger
        ).decode((Int64, Int64).self) {
            found = row
        }
        guard let found else { return nil }
        let (limit, token) = found
        var slots: [Semaphore.Slot] = []
        for try await (holder, expires, slotToken) in try await connection.query(
            "SELECT holder, expires_us, token FROM outrider_semaphore_slots WHERE grp = \(group) AND name = \(name) ORDER BY token", logger: logger
        ).decode((String, Int64, Int64).self) {
            slots.append(Semaphore.Slot(holder: holder, expiresAt: StoreTime(microsecondsSinceEpoch: expires), token: FencingToken(UInt64(slotToken))))
        }
        return Semaphore(name: name, limit: max(1, Int(limit)), slots: slots, token: FencingToken(UInt64(token)))
    }

    func changeSemaphore<T: Sendable>(_ name: String, group: String, as leader: LeaderIdentity, create limit: Int?, _ change: @Sendable @escaping (inout Semaphore, StoreTime) -> T?) async throws -> T? {
        let logger = logger
        return try await call { [self] in
            try await client.withTransaction(logger: logger) { connection -> T? in
                let now = try await Self.fence(connection, group, leader, logger)
                guard var semaphore = try await Self.loadSemaphore(connection, name, group, lock: true, logger) ?? limit.map({ Semaphore(name: name, limit: $0) }) else { return nil }
                let result = change(&semaphore, now)
                try await connection.query("""
                    INSERT INTO outrider_semaphores (grp, name, lim, token) VALUES (\(group), \(name), \(Int64(semaphore.limit)), \(Int64(semaphore.token.value)))
                    ON CONFLICT (grp, name) DO UPDATE SET lim = excluded.lim, token = excluded.token
                    """, logger: logger)
                try await connection.query("DELETE FROM outrider_semaphore_slots WHERE grp = \(group) AND name = \(name)", logger: logger)
                for slot in semaphore.slots {
                    try await connection.query("""
                        INSERT INTO outrider_semaphore_slots (grp, name, holder, expires_us, token)
                        VALUES (\(group), \(name), \(slot.holder), \(slot.expiresAt.microsecondsSinceEpoch), \(Int64(slot.token.value)))
                        """, logger: logger)
                }
                return result
            }
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
        let logger = logger
        return try await call { [self] in
            try await client.withConnection { connection -> (semaphore: Semaphore, now: StoreTime)? in
                guard let semaphore = try await Self.loadSemaphore(connection, name, group, lock: false, logger) else { return nil }
                for try await now in try await connection.query("SELECT \(unescaped: Self.now)", logger: logger).decode(Int64.self) {
                    return (semaphore, StoreTime(microsecondsSinceEpoch: now))
                }
                return nil
            }
        }
    }

    // MARK: Members

    public func heartbeat(group: String, member: String, address: String) async throws {
        try await call { [self] in
            try await client.query("""
                INSERT INTO outrider_members (grp, name, address, last_seen_us) VALUES (\(group), \(member), \(address), \(unescaped: Self.now))
                ON CONFLICT (grp, name) DO UPDATE SET address = excluded.address, last_seen_us = excluded.last_seen_us
                """, logger: logger)
        }
    }

    /// One statement, so a follower finding its leader's address costs one round trip.
    public func members(group: String) async throws -> (members: [MemberRecord], now: StoreTime) {
        try await call { [self] in
            var members: [MemberRecord] = []
            var now: Int64 = 0
            for try await (clock, name, address, seen) in try await client.query("""
                SELECT \(unescaped: Self.now), m.name, m.address, m.last_seen_us
                FROM (SELECT 1) AS one LEFT JOIN outrider_members AS m ON m.grp = \(group) ORDER BY m.name
                """, logger: logger).decode((Int64, String?, String?, Int64?).self) {
                now = clock
                if let name, let address, let seen {
                    members.append(MemberRecord(name: name, address: address, lastSeen: StoreTime(microsecondsSinceEpoch: seen)))
                }
            }
            return (members, StoreTime(microsecondsSinceEpoch: now))
        }
    }
}
