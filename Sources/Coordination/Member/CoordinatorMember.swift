import Logging
import Synchronization

/// One member of a group: the shell that runs the ``LeaderCycle`` against the store, keeps the member's row alive,
/// commits the leader's writes in batches (``PutBatch``) and serves semaphore waiters in order
/// (``SemaphoreQueue``). The rules are in those values; this actor reads the clock and does the store calls.
///
/// Forwarding to the leader and talking to the local program are the transport's (the role's adapter); the member
/// tells it about leadership changes through `onLeaderChange`.
public actor CoordinatorMember {
    public struct Configuration: Sendable {
        public var group: String
        public var name: String
        /// The address other members reach this one's peer listener at.
        public var address: String
        public var lease: Duration
        /// How long an idempotency key is remembered (``IdempotencyRule``).
        public var idempotencyRetention: Duration

        public init(group: String, name: String, address: String, lease: Duration, idempotencyRetention: Duration = IdempotencyRule.defaultRetention) {
            self.group = group
            self.name = name
            self.address = address
            self.lease = lease
            self.idempotencyRetention = idempotencyRetention
        }
    }

    public let configuration: Configuration
    let store: any CoordinationStore
    let logger: Logger
    let clock = ContinuousClock()
    /// How often the loop looks at its cycle and queues: the bound on how late a release notice is acted on.
    let tick: Duration = .milliseconds(20)

    private var cycle: LeaderCycle
    private var batch = PutBatch<PutWaiter>()
    private var waiters: [String: SemaphoreQueue<CheckedContinuation<Semaphore.Outcome, any Error>>] = [:]
    private var nextHeartbeat: ContinuousClock.Instant
    private var nextQueueCheck: ContinuousClock.Instant
    private var nextPrune: ContinuousClock.Instant
    private var pruning = false
    private var known: LeaderView?
    private var storeFault: String?
    private var stopping = false
    private let onLeaderChange: @Sendable (LeaderView?) async -> Void
    private let onStoreChange: @Sendable (String?) async -> Void

    public init(
        configuration: Configuration,
        store: any CoordinationStore,
        logger: Logger,
        onLeaderChange: @escaping @Sendable (LeaderView?) async -> Void = { _ in },
        onStoreChange: @escaping @Sendable (String?) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        let now = ContinuousClock.now
        self.cycle = LeaderCycle(lease: configuration.lease, now: now)
        self.nextHeartbeat = now
        self.nextQueueCheck = now
        self.nextPrune = now
        self.onLeaderChange = onLeaderChange
        self.onStoreChange = onStoreChange
    }

    // MARK: What the member knows

    /// This member's term, when it may act as leader now.
    public var held: HeldLease? { cycle.held(at: clock.now) }

    public var leader: LeaderView? { known }

    /// Why the store is failing, or nil when the last call succeeded.
    public var fault: String? { storeFault }

    // MARK: The loop

    /// Runs the cycle until ``stop()``; store failures are recorded and retried, never thrown.
    public func run() async {
        while !stopping, !Task.isCancelled {
            let now = clock.now
            let step = cycle.next(at: now)
            switch step {
            case .acquire: await ask(renewing: nil, sentAt: now)
            case .renew(let token): await ask(renewing: token, sentAt: now)
            case .stopped: return
            case .wait, .awaitAnswer: break
            }
            if now >= nextHeartbeat {
                nextHeartbeat = now + configuration.lease / 3
                await heartbeat()
            }
            if now >= nextQueueCheck, !waiters.isEmpty {
                nextQueueCheck = now + .milliseconds(100)
                await serveWaiters()
            }
            if now >= nextPrune, !pruning, cycle.held(at: now) != nil {
                pruning = true
                Task { await self.prune() }
            }
            await noteLeader()
            try? await Task.sleep(for: tick)
        }
    }

    private func ask(renewing token: FencingToken?, sentAt: ContinuousClock.Instant) async {
        do {
            let outcome = if let token {
                try await store.renew(group: configuration.group, candidate: configuration.name, token: token, lease: configuration.lease)
            } else {
                try await store.acquire(group: configuration.group, candidate: configuration.name, lease: configuration.lease)
            }
            await storeSucceeded()
            let now = clock.now
            switch outcome {
            case .granted(let grant):
                if cycle.granted(grant, at: now) == nil {
                    logger.warning("lease granted too late to act on", metadata: ["token": "\(grant.token)"])
                }
            case .held(let holder, _):
                cycle.refused(at: now)
                await learnLeader(holder)
            case .lost:
                logger.warning("leadership lost: the term could not be renewed", metadata: ["token": "\(token.map(String.init(describing:)) ?? "-")"])
                cycle.lost(at: now)
            }
        } catch {
            cycle.failed(at: clock.now)
            await storeFailed(error)
        }
    }

    /// The most idempotency records one prune deletes, so that its transaction stays short beside the writes.
    static let pruneLimit = 1000

    /// How often the leader prunes idempotency records past their retention: once a minute (sooner with a
    /// shorter retention), and again at once while a prune finds a full ``pruneLimit`` of them.
    var pruneInterval: Duration { min(.seconds(60), max(configuration.idempotencyRetention / 2, .seconds(1))) }

    /// Deletes expired idempotency records off the loop, so that a long delete never delays a renewal.
    private func prune() async {
        defer { pruning = false }
        do {
            let gone = try await store.pruneIdempotencyKeys(group: configuration.group, olderThan: configuration.idempotencyRetention, limit: Self.pruneLimit)
            nextPrune = clock.now + (gone == Self.pruneLimit ? tick : pruneInterval)
            if gone > 0 { logger.debug("pruned expired idempotency keys", metadata: ["count": "\(gone)"]) }
        } catch {
            nextPrune = clock.now + pruneInterval
            logger.debug("pruning idempotency keys failed: \(error)")
        }
    }

    /// A follower learns the holder's token from the lease row.
    private func learnLeader(_ holder: String) async {
        guard !holder.isEmpty, let current = try? await store.lease(group: configuration.group), current.lease.holder(at: current.now) == holder else {
            known = nil
            return
        }
        known = LeaderView(name: holder, token: current.lease.token, isSelf: false)
    }

    private var announced: LeaderView?

    private func noteLeader() async {
        if let held = cycle.held(at: clock.now) {
            known = LeaderView(name: configuration.name, token: held.token, isSelf: true)
        } else if known?.isSelf == true {
            known = nil
        }
        guard known != announced else { return }
        announced = known
        if let known {
            logger.info("leader is \(known.name)", metadata: ["token": "\(known.token)", "self": "\(known.isSelf)"])
        } else {
            logger.info("no leader known")
        }
        await onLeaderChange(known)
    }

    private func heartbeat() async {
        do {
            try await store.heartbeat(group: configuration.group, member: configuration.name, address: configuration.address)
            await storeSucceeded()
        } catch {
            await storeFailed(error)
        }
    }

    private func storeSucceeded() async {
        guard storeFault != nil else { return }
        storeFault = nil
        logger.info("store reachable again")
        await onStoreChange(nil)
    }

    private func storeFailed(_ error: any Error) async {
        // A call cancelled with its caller (a client that left) says nothing about the store.
        if error is CancellationError || Task.isCancelled { return }
        let reason = "\(error)"
        guard storeFault != reason else { return }
        if storeFault == nil { logger.error("store failing: \(reason)") }
        storeFault = reason
        await onStoreChange(reason)
    }

    /// The leader told this member it released its term: ask for it at once.
    public func leaseReleased() {
        cycle.leaseReleased(at: clock.now)
        if known?.isSelf == false { known = nil }
    }

    /// Stops the loop and releases the term this member holds. Returns whether a term was released (the members
    /// are then told, by the transport).
    @discardableResult
    public func stop() async -> Bool {
        stopping = true
        for name in Array(waiters.keys) {
            while let entry = waiters[name]?.removeFirst() { entry.waiter.resume(throwing: MemberRefusal.stopping) }
        }
        waiters = [:]
        guard let token = cycle.stop() else { return false }
        known = nil
        let released = (try? await store.release(group: configuration.group, candidate: configuration.name, token: token)) ?? false
        logger.info("leadership released", metadata: ["token": "\(token)", "released": "\(released)"])
        await noteLeader()
        return released
    }

    // MARK: Writes, as leader

    private func identity() throws(MemberRefusal) -> LeaderIdentity {
        guard !stopping else { throw .stopping }
        guard let held = cycle.held(at: clock.now) else { throw .notLeader }
        if let storeFault { throw .storeUnavailable(storeFault) }
        return LeaderIdentity(name: configuration.name, token: held.token)
    }

    /// Commits `request` with the writes that arrive while the previous batch commits. Throws ``MemberRefusal``.
    public func put(_ request: PutRequest) async throws -> PutOutcome {
        _ = try identity()
        return try await withCheckedThrowingContinuation { continuation in
            let waiter = PutWaiter { continuation.resume(with: $0.mapError { $0 }) }
            guard let first = batch.enqueue(request, waiter) else { return }
            Task { await self.commit(first) }
        }
    }

    /// Commits `requests` (a follower's forwarded batch) together, in their order, with the writes that arrive
    /// while the previous batch commits: each request's outcome, or why it was refused. Throws ``MemberRefusal``
    /// when this member cannot take writes at all.
    public func put(_ requests: [PutRequest]) async throws -> [Result<PutOutcome, MemberRefusal>] {
        _ = try identity()
        guard !requests.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let gathered = GatheredOutcomes(count: requests.count, continuation)
            let entries = requests.enumerated().map { index, request in (request: request, waiter: PutWaiter { gathered.set(index, $0) }) }
            guard let first = batch.enqueue(contentsOf: entries) else { return }
            Task { await self.commit(first) }
        }
    }

    private func commit(_ first: [PutBatch<PutWaiter>.Entry]) async {
        var next: [PutBatch<PutWaiter>.Entry]? = first
        while let current = next {
            do {
                let leader = try identity()
                let outcomes = try await store.put(current.map(\.request), group: configuration.group, as: leader, keepingKeysFor: configuration.idempotencyRetention)
                for (entry, outcome) in zip(current, outcomes) { entry.waiter.resume(.success(outcome)) }
            } catch let refusal as MemberRefusal {
                for entry in current { entry.waiter.resume(.failure(refusal)) }
            } catch CoordinationStoreError.fenced {
                logger.warning("a write was fenced: this member's term is over in the store")
                for entry in current { entry.waiter.resume(.failure(.notLeader)) }
            } catch {
                await storeFailed(error)
                for entry in current { entry.waiter.resume(.failure(.storeUnavailable("\(error)"))) }
            }
            next = batch.committed()
        }
    }

    // MARK: Semaphores, as leader

    /// A slot of `name`, waiting up to `wait` behind the acquirers already waiting. Returns the store's outcome
    /// (`.full` once the wait is over). A holder that already has a slot gets it at once, refreshed, queue or not:
    /// an acquire sent again (its answer lost, or its leader gone) never waits behind others for its own slot.
    public func acquire(semaphore name: String, limit: Int, holder: String, ttl: Duration, wait: Duration) async throws -> Semaphore.Outcome {
        let leader = try identity()
        var atOnce = waiters[name]?.isEmpty ?? true
        if !atOnce { atOnce = try await holdsSlot(of: name, holder: holder) }
        if atOnce {
            let outcome = try await fenced { try await self.store.acquire(semaphore: name, limit: limit, holder: holder, ttl: ttl, group: self.configuration.group, as: leader) }
            guard outcome == .full, wait > .zero else { return outcome }
        } else if wait <= .zero {
            return .full
        }
        let deadline = clock.now + wait
        let ticket = WaiterTicket()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else { return continuation.resume(throwing: CancellationError()) }
                ticket.id.withLock { $0 = waiters[name, default: SemaphoreQueue()].append(holder: holder, limit: limit, ttl: ttl, deadline: deadline, waiter: continuation) }
            }
        } onCancel: {
            Task { await self.cancelWaiter(ticket.id.withLock { $0 }, of: name) }
        }
    }

    /// How many acquirers wait for a slot of `name` on this member.
    public func waiting(for name: String) -> Int { waiters[name]?.count ?? 0 }

    /// Whether `holder` has an unexpired slot of `name` by the store's clock.
    private func holdsSlot(of name: String, holder: String) async throws -> Bool {
        guard let current = try await fenced({ try await self.store.semaphore(name, group: self.configuration.group) }) else { return false }
        return current.semaphore.holders(at: current.now).contains { $0.holder == holder }
    }

    private func cancelWaiter(_ id: UInt64, of name: String) {
        waiters[name]?.remove(id: id)?.waiter.resume(throwing: CancellationError())
    }

    public func refresh(semaphore name: String, holder: String, ttl: Duration) async throws -> Semaphore.Outcome {
        let leader = try identity()
        return try await fenced { try await self.store.refresh(semaphore: name, holder: holder, ttl: ttl, group: self.configuration.group, as: leader) }
    }

    public func release(semaphore name: String, holder: String) async throws -> Bool {
        let leader = try identity()
        let released = try await fenced { try await self.store.release(semaphore: name, holder: holder, group: self.configuration.group, as: leader) }
        if released { nextQueueCheck = clock.now }
        return released
    }

    private func fenced<T: Sendable>(_ call: @Sendable () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch CoordinationStoreError.fenced {
            throw MemberRefusal.notLeader
        } catch let error as CoordinationStoreError {
            await storeFailed(error)
            throw MemberRefusal.storeUnavailable("\(error)")
        }
    }

    /// Expires waiters whose wait ran out, and offers freed slots to the head of each queue.
    private func serveWaiters() async {
        let now = clock.now
        for name in Array(waiters.keys) {
            for entry in waiters[name]?.expire(at: now) ?? [] { entry.waiter.resume(returning: .full) }
            while let head = waiters[name]?.first {
                guard let leader = try? identity() else {
                    while let entry = waiters[name]?.removeFirst() { entry.waiter.resume(throwing: MemberRefusal.notLeader) }
                    break
                }
                let outcome: Semaphore.Outcome
                do {
                    outcome = try await fenced { try await self.store.acquire(semaphore: name, limit: head.limit, holder: head.holder, ttl: head.ttl, group: self.configuration.group, as: leader) }
                } catch {
                    break
                }
                if outcome == .full { break }
                // The head may have been cancelled meanwhile; only resume the entry still at the head.
                guard waiters[name]?.first?.id == head.id, let entry = waiters[name]?.removeFirst() else { break }
                entry.waiter.resume(returning: outcome)
            }
            if waiters[name]?.isEmpty == true { waiters[name] = nil }
        }
    }
}

/// The queue position of a waiting acquirer, for its cancellation handler, which runs outside the actor.
final class WaiterTicket: Sendable {
    let id = Mutex<UInt64>(0)
}

/// What a queued write is answered through: a single Put's continuation, or one place in a forwarded batch.
struct PutWaiter: Sendable {
    let resume: @Sendable (Result<PutOutcome, MemberRefusal>) -> Void
}

/// The outcomes of one forwarded batch as they come in, handed on once all are in.
final class GatheredOutcomes: Sendable {
    private let state: Mutex<(outcomes: [Result<PutOutcome, MemberRefusal>?], remaining: Int)>
    private let continuation: CheckedContinuation<[Result<PutOutcome, MemberRefusal>], Never>

    init(count: Int, _ continuation: CheckedContinuation<[Result<PutOutcome, MemberRefusal>], Never>) {
        state = Mutex((Array(repeating: nil, count: count), count))
        self.continuation = continuation
    }

    func set(_ index: Int, _ outcome: Result<PutOutcome, MemberRefusal>) {
        let done: [Result<PutOutcome, MemberRefusal>]? = state.withLock { state in
            guard state.outcomes[index] == nil else { return nil }
            state.outcomes[index] = outcome
            state.remaining -= 1
            return state.remaining == 0 ? state.outcomes.compactMap { $0 } : nil
        }
        if let done { continuation.resume(returning: done) }
    }
}
