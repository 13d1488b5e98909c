/// Group commit for the leader's writes: Puts that arrive while a transaction is being committed wait, and go
/// together in the next transaction, so that 64 concurrent clients cost a few commits (and a few fsyncs) instead
/// of 64. PostgreSQL's `commit_delay` and SQLite's WAL do the same below; doing it above the store lets one
/// fenced transaction check the token once for the whole batch.
///
/// A pure value: `Waiter` is whatever the shell resumes with each answer (a continuation).
public struct PutBatch<Waiter> {
    public let maximumSize: Int
    private var pending: [(request: PutRequest, waiter: Waiter)] = []
    private var committing = false

    public init(maximumSize: Int = 256) {
        precondition(maximumSize > 0)
        self.maximumSize = maximumSize
    }

    /// Queues a write. Returns the batch to commit now when no commit is under way (the caller commits it and then
    /// calls ``committed()``), or nil when the write waits for the next batch.
    public mutating func enqueue(_ request: PutRequest, _ waiter: Waiter) -> [(request: PutRequest, waiter: Waiter)]? {
        pending.append((request, waiter))
        guard !committing else { return nil }
        return take()
    }

    /// The commit under way finished: the next batch to commit, if writes queued up meanwhile.
    public mutating func committed() -> [(request: PutRequest, waiter: Waiter)]? {
        committing = false
        guard !pending.isEmpty else { return nil }
        return take()
    }

    public var queued: Int { pending.count }

    private mutating func take() -> [(request: PutRequest, waiter: Waiter)] {
        committing = true
        let count = min(maximumSize, pending.count)
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        return batch
    }
}
