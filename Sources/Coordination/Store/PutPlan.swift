import Foundation

/// What one batch of Puts writes, numbered from the group's revision before it, decided before any of it is
/// written: both stores then write the batch in a few statements (all entries in one, all idempotency records
/// in one) instead of a statement or more per Put.
struct PutPlan: Sendable {
    var outcomes: [PutOutcome] = []
    /// The group's revision after the batch.
    var revision: Int64
    /// Keys whose latest entry from before the batch an overwrite replaces.
    var overwritten: [String] = []
    var entryRevisions: [Int64] = [], entryKeys: [String] = [], entryValues: [String] = []
    var recordKeys: [String] = [], recordRequests: [String] = [], recordAnswers: [String] = []

    init(revision: Int64) {
        self.revision = revision
    }

    /// Decides each Put of `batch` in order, as a transaction of one statement per Put would (PostgreSQL's
    /// `putStepByStep`): a Put sees the idempotency records and entries of the Puts before it in the batch. An overwrite
    /// replaces the key's latest entry, so an entry of the batch that a later overwrite of its key replaces is
    /// never inserted (its revision is used all the same), and the entry from before the batch is deleted only by
    /// the key's first write in the batch.
    init(
        _ batch: [PutRequest], from base: Int64, leader: LeaderIdentity, remembered: [String: (record: IdempotencyRule.Record, storedAt: StoreTime)],
        now: StoreTime?, retention: Duration
    ) throws {
        var plan = PutPlan(revision: base)
        var remembered = remembered
        var entries: [(revision: Int64, key: String, value: String)?] = []
        var latest: [String: Int] = [:]
        var records: [String: (request: String, answer: String)] = [:]
        let encoder = JSONEncoder()
        for request in batch {
            let known = request.idempotencyKey.flatMap { remembered[$0] }
            switch IdempotencyRule.decide(request, remembered: known?.record, storedAt: known?.storedAt, now: now, retention: retention) {
            case .replay(let answer): plan.outcomes.append(.replayed(answer)); continue
            case .conflict: plan.outcomes.append(.conflict); continue
            case .write: break
            }
            if request.mode == .overwrite {
                if let index = latest[request.key] {
                    entries[index] = nil
                } else if !plan.overwritten.contains(request.key) {
                    plan.overwritten.append(request.key)
                }
            }
            plan.revision += 1
            latest[request.key] = entries.count
            entries.append((plan.revision, request.key, request.value))
            let answer = PutAnswer(key: request.key, revision: plan.revision, leader: leader.name, token: leader.token)
            if let key = request.idempotencyKey {
                let record = IdempotencyRule.Record(request: request, answer: answer)
                remembered[key] = (record, now ?? StoreTime(microsecondsSinceEpoch: 0))
                records[key] = (String(decoding: try encoder.encode(record.request), as: UTF8.self), String(decoding: try encoder.encode(answer), as: UTF8.self))
            }
            plan.outcomes.append(.committed(answer))
        }
        for case let entry? in entries {
            plan.entryRevisions.append(entry.revision)
            plan.entryKeys.append(entry.key)
            plan.entryValues.append(entry.value)
        }
        for (key, record) in records {
            plan.recordKeys.append(key)
            plan.recordRequests.append(record.request)
            plan.recordAnswers.append(record.answer)
        }
        self = plan
    }
}
