import TestSupport
import Coordination
import Foundation
import Logging
import NIOPosix
import Testing

/// What every store must do, run on SQLite files and on a real PostgreSQL. `a` and `b` are two connections to one
/// store, standing for two processes; each check uses its own group, so checks never see each other's rows.
enum StoreContract {
    typealias Check = @Sendable (_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws -> Void

    static func oneHolderAtATimeWithTokensThatOnlyGrow(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let first) = try await a.acquire(group: g, candidate: "a", lease: .seconds(5)) else { Issue.record("a first"); return }
        let refused = try await b.acquire(group: g, candidate: "b", lease: .seconds(5))
        guard case .held(by: "a", _) = refused else { Issue.record("b got \(refused)"); return }
        let again = try await a.acquire(group: g, candidate: "a", lease: .seconds(5))
        guard case .held = again else { Issue.record("a holder acquiring by name must not be handed its term: \(again)"); return }
        let renewed = try await a.renew(group: g, candidate: "a", token: first.token, lease: .seconds(5))
        guard case .granted(let renewal) = renewed, renewal.token == first.token else { Issue.record("renew \(renewed)"); return }
        #expect(try await a.release(group: g, candidate: "a", token: first.token))
        #expect(try await !a.release(group: g, candidate: "a", token: first.token))
        guard case .granted(let second) = try await b.acquire(group: g, candidate: "b", lease: .seconds(5)) else { Issue.record("b after release"); return }
        #expect(second.token > first.token)
        let stale = try await a.renew(group: g, candidate: "a", token: first.token, lease: .seconds(5))
        #expect(stale == .lost)
    }

    static func anExpiredTermPassesOnAndItsHolderCannotRenewIt(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let first) = try await a.acquire(group: g, candidate: "a", lease: .milliseconds(200)) else { Issue.record("a"); return }
        try await Task.sleep(for: .milliseconds(300))
        let lost = try await a.renew(group: g, candidate: "a", token: first.token, lease: .seconds(5))
        #expect(lost == .lost)
        guard case .granted(let second) = try await b.acquire(group: g, candidate: "b", lease: .seconds(5)) else { Issue.record("b"); return }
        #expect(second.token == first.token.next)
    }

    static func aDeposedLeadersWriteIsRefusedByTheStore(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let first) = try await a.acquire(group: g, candidate: "a", lease: .milliseconds(200)) else { Issue.record("a"); return }
        let written = try await a.put([PutRequest(key: "k", value: "1")], group: g, as: LeaderIdentity(name: "a", token: first.token))
        #expect(written == [.committed(PutAnswer(key: "k", revision: 1, leader: "a", token: first.token))])
        try await Task.sleep(for: .milliseconds(300))
        // Expired, not yet taken: still refused.
        await #expect(throws: CoordinationStoreError.fenced) {
            try await a.put([PutRequest(key: "k", value: "late")], group: g, as: LeaderIdentity(name: "a", token: first.token))
        }
        guard case .granted(let second) = try await b.acquire(group: g, candidate: "b", lease: .seconds(5)) else { Issue.record("b"); return }
        await #expect(throws: CoordinationStoreError.fenced) {
            try await a.put([PutRequest(key: "k", value: "late")], group: g, as: LeaderIdentity(name: "a", token: first.token))
        }
        _ = try await b.put([PutRequest(key: "k", value: "2")], group: g, as: LeaderIdentity(name: "b", token: second.token))
        let values = try await a.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value)
        #expect(values == ["1", "2"])
    }

    static func aBatchWithIdempotencyKeysAndOverwrite(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let grant) = try await a.acquire(group: g, candidate: "a", lease: .seconds(5)) else { Issue.record("a"); return }
        let leader = LeaderIdentity(name: "a", token: grant.token)
        let outcomes = try await a.put([
            PutRequest(key: "k", value: "1", idempotencyKey: "i1"),
            PutRequest(key: "k", value: "2"),
            PutRequest(key: "k", value: "1", idempotencyKey: "i1"),
            PutRequest(key: "k", value: "other", idempotencyKey: "i1"),
            PutRequest(key: "j", value: "x"),
        ], group: g, as: leader)
        let first = PutAnswer(key: "k", revision: 1, leader: "a", token: grant.token)
        #expect(outcomes == [.committed(first), .committed(PutAnswer(key: "k", revision: 2, leader: "a", token: grant.token)), .replayed(first), .conflict,
                             .committed(PutAnswer(key: "j", revision: 3, leader: "a", token: grant.token))])
        // A retry in a later transaction gets the same answer.
        let retried = try await a.put([PutRequest(key: "k", value: "1", idempotencyKey: "i1")], group: g, as: leader)
        #expect(retried == [.replayed(first)])
        _ = try await a.put([PutRequest(key: "k", value: "3", mode: .overwrite)], group: g, as: leader)
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value) == ["1", "3"])
        #expect(try await a.entries(group: g, key: "k", limit: .latest, after: nil)?.map(\.revision) == [4])
        #expect(try await a.entries(group: g, key: "k", limit: .oldest, after: nil)?.map(\.value) == ["1"])
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: 1)?.map(\.value) == ["3"])
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: 4) == [])
        #expect(try await a.entries(group: g, key: "none", limit: .all, after: nil) == nil)
        #expect(try await a.latestRevision(group: g, key: "k") == 4)
        #expect(try await a.entries(group: g + "-other", key: "k", limit: .all, after: nil) == nil, "groups are apart")
    }

    /// An overwrite replaces the key's latest entry as it stands at that Put, even when that entry was written
    /// earlier in the same batch; each Put still gets its own revision.
    static func overwritesWithinOneBatch(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let grant) = try await a.acquire(group: g, candidate: "a", lease: .seconds(5)) else { Issue.record("a"); return }
        let leader = LeaderIdentity(name: "a", token: grant.token)
        _ = try await a.put([PutRequest(key: "k", value: "p")], group: g, as: leader)
        let outcomes = try await a.put([
            PutRequest(key: "k", value: "a1"),
            PutRequest(key: "k", value: "o1", mode: .overwrite),
            PutRequest(key: "k", value: "o2", mode: .overwrite),
            PutRequest(key: "m", value: "x", mode: .overwrite),
        ], group: g, as: leader)
        #expect(outcomes.map { outcome -> Int64 in if case .committed(let answer) = outcome { return answer.revision }; return -1 } == [2, 3, 4, 5])
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value) == ["p", "o2"])
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.revision) == [1, 4])
        #expect(try await a.entries(group: g, key: "m", limit: .all, after: nil)?.map(\.value) == ["x"])
        _ = try await a.put([PutRequest(key: "k", value: "o3", mode: .overwrite), PutRequest(key: "k", value: "a2")], group: g, as: leader)
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value) == ["p", "o3", "a2"])
        #expect(try await a.latestRevision(group: g, key: "k") == 7)
    }

    /// Leadership going back and forth between two connections: each leader numbers on from the store's
    /// revision, whatever it wrote itself before.
    static func eachLeaderNumbersOnFromTheStore(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let first) = try await a.acquire(group: g, candidate: "a", lease: .seconds(5)) else { Issue.record("a"); return }
        #expect(try await a.put([PutRequest(key: "k", value: "1")], group: g, as: LeaderIdentity(name: "a", token: first.token)).count == 1)
        #expect(try await a.release(group: g, candidate: "a", token: first.token))
        guard case .granted(let second) = try await b.acquire(group: g, candidate: "b", lease: .seconds(5)) else { Issue.record("b"); return }
        let byB = try await b.put([PutRequest(key: "k", value: "2"), PutRequest(key: "j", value: "3")], group: g, as: LeaderIdentity(name: "b", token: second.token))
        #expect(byB == [.committed(PutAnswer(key: "k", revision: 2, leader: "b", token: second.token)), .committed(PutAnswer(key: "j", revision: 3, leader: "b", token: second.token))])
        #expect(try await b.release(group: g, candidate: "b", token: second.token))
        guard case .granted(let third) = try await a.acquire(group: g, candidate: "a", lease: .seconds(5)) else { Issue.record("a again"); return }
        let byA = try await a.put([PutRequest(key: "k", value: "4")], group: g, as: LeaderIdentity(name: "a", token: third.token))
        #expect(byA == [.committed(PutAnswer(key: "k", revision: 4, leader: "a", token: third.token))])
        // The old term's token is refused although this connection wrote with it last.
        await #expect(throws: CoordinationStoreError.fenced) {
            try await a.put([PutRequest(key: "k", value: "late")], group: g, as: LeaderIdentity(name: "a", token: first.token))
        }
        #expect(try await b.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value) == ["1", "2", "4"])
    }

    static func semaphoreSlotsAreFencedAndExpire(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let grant) = try await a.acquire(group: g, candidate: "a", lease: .seconds(5)) else { Issue.record("a"); return }
        let leader = LeaderIdentity(name: "a", token: grant.token)
        // h1's slot outlives the two checks after it by seconds, so that a stalled machine cannot expire it first.
        guard case .granted(let slot) = try await a.acquire(semaphore: "s", limit: 1, holder: "h1", ttl: .seconds(2), group: g, as: leader) else { Issue.record("h1"); return }
        #expect(try await a.acquire(semaphore: "s", limit: 1, holder: "h2", ttl: .seconds(1), group: g, as: leader) == .full)
        #expect(try await a.acquire(semaphore: "s", limit: 2, holder: "h2", ttl: .seconds(1), group: g, as: leader) == .limitMismatch(existing: 1))
        // Once h1's slot has expired h2 gets it; a ttl well beyond the checks below, so that a loaded machine cannot
        // expire the slot before its release.
        var granted: Coordination.Semaphore.Slot?
        let deadline = ContinuousClock.now + .seconds(15)
        while granted == nil, ContinuousClock.now < deadline {
            if case .granted(let grant) = try await a.acquire(semaphore: "s", limit: 1, holder: "h2", ttl: .seconds(60), group: g, as: leader) {
                granted = grant
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        guard let next = granted else { Issue.record("h2 never got the expired slot"); return }
        #expect(next.token > slot.token)
        #expect(try await a.semaphore("s", group: g).map { $0.semaphore.holders(at: $0.now).map(\.holder) } == ["h2"])
        #expect(try await a.release(semaphore: "s", holder: "h2", group: g, as: leader))
        await #expect(throws: CoordinationStoreError.fenced) {
            try await a.acquire(semaphore: "s", limit: 1, holder: "h3", ttl: .seconds(1), group: g, as: LeaderIdentity(name: "a", token: grant.token.next))
        }
    }

    static func membersAreSharedAcrossConnections(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        try await a.heartbeat(group: g, member: "a", address: "127.0.0.1:1")
        try await a.heartbeat(group: g, member: "b", address: "127.0.0.1:2")
        try await a.heartbeat(group: g, member: "a", address: "127.0.0.1:3")
        let (members, now) = try await a.members(group: g)
        #expect(members.map(\.name) == ["a", "b"])
        #expect(members.first?.address == "127.0.0.1:3")
        #expect(members.allSatisfy { now - $0.lastSeen < .seconds(5) })
        // The other connection (a second process) sees the same rows.
        #expect(try await b.members(group: g).members.count == 2)
    }

    static func twoMembersOnOneStore(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        let stores = [a, b]
        let members = stores.enumerated().map { index, store in
            CoordinatorMember(configuration: .init(group: g, name: "m\(index)", address: "127.0.0.1:\(index)", lease: .seconds(20)), store: store, logger: Logger(label: "m\(index)"))
        }
        let runs = members.map { member in Task { await member.run() } }
        var leader: CoordinatorMember?
        let deadline = ContinuousClock.now + .seconds(15)
        while leader == nil, ContinuousClock.now < deadline {
            for member in members where await member.held != nil { leader = member }
            try await Task.sleep(for: .milliseconds(20))
        }
        let first = try #require(leader)
        var acknowledged: [String] = []
        for index in 0..<20 {
            if case .committed = try await first.put(PutRequest(key: "k", value: "\(index)")) { acknowledged.append("\(index)") }
        }
        let other = members.first { $0 !== first }!
        await #expect(throws: MemberRefusal.notLeader) { try await other.put(PutRequest(key: "k", value: "x")) }
        // A clean stop hands over within a few ticks once the other hears of it.
        let start = ContinuousClock.now
        #expect(await first.stop())
        await other.leaseReleased()
        while await other.held == nil, ContinuousClock.now < start + .seconds(15) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await other.held != nil)
        // Before the 20 s term could have expired: the release handed it over, not the expiry.
        #expect(ContinuousClock.now - start < .seconds(15))
        let values = try await stores[0].entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value)
        #expect(values == acknowledged)
        await other.stop()
        for run in runs { await run.value }
    }

    /// Concurrent Puts on the leader go in few transactions (group commit), each acknowledged once with its own
    /// revision.
    static func concurrentPutsAreEachCommittedOnce(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        let member = CoordinatorMember(configuration: .init(group: g, name: "solo", address: "127.0.0.1:1", lease: .seconds(3)), store: a, logger: Logger(label: "solo"))
        let run = Task { await member.run() }
        let deadline = ContinuousClock.now + .seconds(5)
        while await member.held == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let revisions = try await withThrowingTaskGroup(of: Int64?.self) { group in
            for index in 0..<64 {
                group.addTask {
                    guard case .committed(let answer) = try await member.put(PutRequest(key: "k", value: "\(index)", idempotencyKey: "c\(index)")) else { return nil }
                    return answer.revision
                }
            }
            var revisions: [Int64] = []
            for try await revision in group { if let revision { revisions.append(revision) } }
            return revisions
        }
        #expect(Set(revisions) == Set(1...64))
        let values = try await b.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value) ?? []
        #expect(Set(values) == Set((0..<64).map { "\($0)" }) && values.count == 64)
        await member.stop()
        await run.value
    }

    /// A key past its retention is a new write even before it is pruned, and the new write's record replaces
    /// it; pruning deletes only records past the retention, at most `limit` at a time. (The store's clock is the
    /// judge: the sleeps only make sure it moved on by more than the 1 ms retention.)
    static func idempotencyKeysExpireAndArePruned(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        guard case .granted(let grant) = try await a.acquire(group: g, candidate: "a", lease: .seconds(30)) else { Issue.record("a"); return }
        let leader = LeaderIdentity(name: "a", token: grant.token)
        let hour = Duration.seconds(3600)
        let request = PutRequest(key: "k", value: "1", idempotencyKey: "i1")
        let first = PutAnswer(key: "k", revision: 1, leader: "a", token: grant.token)
        #expect(try await a.put([request], group: g, as: leader, keepingKeysFor: hour) == [.committed(first)])
        #expect(try await b.put([request], group: g, as: leader, keepingKeysFor: hour) == [.replayed(first)])
        #expect(try await a.pruneIdempotencyKeys(group: g, olderThan: hour, limit: 100) == 0, "nothing is an hour old")

        try await Task.sleep(for: .milliseconds(20))
        let second = PutAnswer(key: "k", revision: 2, leader: "a", token: grant.token)
        #expect(try await a.put([request], group: g, as: leader, keepingKeysFor: .milliseconds(1)) == [.committed(second)], "expired: a new write")
        #expect(try await b.put([request], group: g, as: leader, keepingKeysFor: hour) == [.replayed(second)], "the new record took the key")
        #expect(try await a.put([PutRequest(key: "k", value: "2", idempotencyKey: "i1")], group: g, as: leader, keepingKeysFor: hour) == [.conflict])

        _ = try await a.put([PutRequest(key: "j", value: "x", idempotencyKey: "i2"), PutRequest(key: "j", value: "y", idempotencyKey: "i3")], group: g, as: leader, keepingKeysFor: hour)
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await a.pruneIdempotencyKeys(group: g, olderThan: .milliseconds(1), limit: 2) == 2)
        #expect(try await b.pruneIdempotencyKeys(group: g, olderThan: .milliseconds(1), limit: 100) == 1)
        #expect(try await a.pruneIdempotencyKeys(group: g, olderThan: .milliseconds(1), limit: 100) == 0)
        #expect(try await a.put([request], group: g, as: leader, keepingKeysFor: hour) == [.committed(PutAnswer(key: "k", revision: 5, leader: "a", token: grant.token))],
                "pruned: the key is free")
        #expect(try await a.entries(group: g, key: "k", limit: .all, after: nil)?.map(\.value) == ["1", "1", "1"])
    }

    /// The leader prunes on its own: with a retention of 1 s, a key it wrote is forgotten soon after (a retry with
    /// a long retention is then a new write, where it would be a replay while the record is there).
    static func theLeaderPrunesExpiredKeys(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        let member = CoordinatorMember(
            configuration: .init(group: g, name: "solo", address: "127.0.0.1:1", lease: .seconds(3), idempotencyRetention: .seconds(1)),
            store: a, logger: Logger(label: "solo"))
        let run = Task { await member.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while await member.held == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let request = PutRequest(key: "k", value: "v", idempotencyKey: "p1")
        guard case .committed = try await member.put(request) else { Issue.record("not committed"); return }
        var pruned = false
        let pruneDeadline = ContinuousClock.now + .seconds(20)
        while !pruned, ContinuousClock.now < pruneDeadline {
            // A term lost on a loaded machine (fenced) is retried with the next one.
            if let held = await member.held,
               let outcome = try? await b.put([request], group: g, as: LeaderIdentity(name: "solo", token: held.token), keepingKeysFor: .seconds(3600)),
               case .committed = outcome.first {
                pruned = true
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(pruned, "the leader pruned the record")
        await member.stop()
        await run.value
    }

    /// An acquire sent again by a holder that has a slot (its answer lost, or its leader gone) gets that slot, with
    /// its token, at once, even while others wait in the queue; they still wait, and the limit holds.
    static func aHolderAcquiringAgainIsNotQueuedBehindOthers(_ a: any CoordinationStore, _ b: any CoordinationStore, _ g: String) async throws {
        let member = CoordinatorMember(configuration: .init(group: g, name: "solo", address: "127.0.0.1:1", lease: .seconds(10)), store: a, logger: Logger(label: "solo"))
        let run = Task { await member.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while await member.held == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let first = try await member.acquire(semaphore: "s", limit: 1, holder: "A", ttl: .seconds(60), wait: .zero)
        guard case .granted(let slot) = first else {
            Issue.record("the first acquire was not granted: \(first)")
            return
        }
        let waiting = Task { try await member.acquire(semaphore: "s", limit: 1, holder: "B", ttl: .seconds(60), wait: .seconds(30)) }
        let queued = ContinuousClock.now + .seconds(30)
        while await member.waiting(for: "s") == 0, ContinuousClock.now < queued { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await member.waiting(for: "s") == 1)
        let again = try await member.acquire(semaphore: "s", limit: 1, holder: "A", ttl: .seconds(60), wait: .seconds(30))
        guard case .granted(let same) = again else {
            Issue.record("the holder's acquire sent again was not granted: \(again)")
            waiting.cancel()
            await member.stop()
            await run.value
            return
        }
        #expect(same.token == slot.token)
        #expect(await member.waiting(for: "s") == 1, "B still waits: the semaphore is full")
        #expect(try await b.semaphore("s", group: g).map { $0.semaphore.holders(at: $0.now).map(\.holder) } == ["A"])
        #expect(try await member.release(semaphore: "s", holder: "A"))
        guard case .granted(let next) = try await waiting.value else {
            Issue.record("B was not served after the release")
            await member.stop()
            await run.value
            return
        }
        #expect(next.holder == "B" && next.token > slot.token)
        await member.stop()
        await run.value
    }

    static let all: [(String, Check)] = [
        ("idempotencyKeysExpireAndArePruned", idempotencyKeysExpireAndArePruned),
        ("theLeaderPrunesExpiredKeys", theLeaderPrunesExpiredKeys),
        ("concurrentPutsAreEachCommittedOnce", concurrentPutsAreEachCommittedOnce),
        ("oneHolderAtATimeWithTokensThatOnlyGrow", oneHolderAtATimeWithTokensThatOnlyGrow),
        ("anExpiredTermPassesOnAndItsHolderCannotRenewIt", anExpiredTermPassesOnAndItsHolderCannotRenewIt),
        ("aDeposedLeadersWriteIsRefusedByTheStore", aDeposedLeadersWriteIsRefusedByTheStore),
        ("aBatchWithIdempotencyKeysAndOverwrite", aBatchWithIdempotencyKeysAndOverwrite),
        ("overwritesWithinOneBatch", overwritesWithinOneBatch),
        ("eachLeaderNumbersOnFromTheStore", eachLeaderNumbersOnFromTheStore),
        ("semaphoreSlotsAreFencedAndExpire", semaphoreSlotsAreFencedAndExpire),
        ("membersAreSharedAcrossConnections", membersAreSharedAcrossConnections),
        ("twoMembersOnOneStore", twoMembersOnOneStore),
    ]
}

/// The store on real SQLite files: two connections to one file stand for two processes of one host.
@Suite struct SQLiteCoordinationStoreTests {
    static func open(_ path: String) async throws -> SQLiteCoordinationStore {
        let store = try await SQLiteCoordinationStore.open(path: path, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        try await store.migrate()
        return store
    }

    @Test(arguments: StoreContract.all.map { $0.0 }) func onAFile(_ check: String) async throws {
        try await Self.onTwoConnectionsToAFile { a, b in try await StoreContract.all.first { $0.0 == check }!.1(a, b, "g") }
    }

    /// The member's queue on a file (the rule is the member's, the store only answers its calls).
    @Test func aHolderAcquiringAgainIsNotQueuedBehindOthers() async throws {
        try await Self.onTwoConnectionsToAFile { a, b in try await StoreContract.aHolderAcquiringAgainIsNotQueuedBehindOthers(a, b, "g") }
    }

    /// Runs `check` on two stores opened on one new file (two processes sharing it), closed afterwards.
    static func onTwoConnectionsToAFile(_ check: (SQLiteCoordinationStore, SQLiteCoordinationStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("coordinator.db").path
        let a = try await Self.open(path), b = try await Self.open(path)
        do {
            try await check(a, b)
        } catch {
            await a.close(); await b.close()
            throw error
        }
        await a.close(); await b.close()
    }

    @Test func aMissingDirectoryIsAClearError() async throws {
        await #expect(throws: CoordinationStoreError.unavailable("the directory /nonexistent/outrider of /nonexistent/outrider/c.db does not exist")) {
            _ = try await SQLiteCoordinationStore.open(path: "/nonexistent/outrider/c.db", eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        }
    }
}

/// The same checks on a real PostgreSQL started for the test (initdb into a temporary directory, run as nobody).
@Suite struct PostgresCoordinationStoreTests {
    @Test func theContractOnPostgreSQL() async throws {
        let server = try await PostgresServer()
        defer { server.stop() }
        let logger = Logger(label: "test")
        let a = try PostgresCoordinationStore(url: server.url, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let b = try PostgresCoordinationStore(url: server.url, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        // Two members migrating at once: one creates, the other finds.
        async let first: Void = a.migrate()
        async let second: Void = b.migrate()
        _ = try await (first, second)
        for (name, check) in StoreContract.all {
            do {
                try await check(a, b, "g-\(name)")
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
        // The server stopped: calls fail with a reason, and succeed again once it is back.
        server.pause()
        await #expect(throws: CoordinationStoreError.self) { try await a.lease(group: "g") }
        await a.close(); await b.close()
    }
}
