/// Group commit for the leader's writes: Puts that arrive while a transaction is being committed wait, and go
/// together in the next transaction, so that 64 concurrent clients cost a few commits (and a few fsyncs) instead
/// of 64. PostgreSQL's `commit_delay` and SQLite's WAL do the same below; doing it above the store lets one
/// fenced transaction check the token once for the whole batch.
///
/// A follower uses the same value to forward its clients' Puts to the leader: the Puts that arrive while a
/// forwarded batch is on its way go together in the next peer request, with up to ``maximumInFlight`` batches on
/// their way at once (two: while the leader commits one, the next already waits in the leader's own batch, so the
/// leader's commits follow each other without a network round trip between them), and at most
/// ``maximumBytes`` of keys and values in one batch, so that a batch fits the peer listener's body limit.
///
/// A pure value: `Waiter` is whatever the shell resumes with each answer (a continuation).
public struct PutBatch<Waiter> {
    public typealias Entry = (request: PutRequest, waiter: Waiter)

    public let maximumSize: Int
    /// The most bytes of keys, values and idempotency keys in one batch (``PutRequest/size``); a single Put larger
    /// than this still goes, alone.
    public let maximumBytes: Int
    /// How many batches may be under way at once (committing, or on their way to the leader).
    public let maximumInFlight: Int
    private var pending: [Entry] = []
    private var start = 0
    private var inFlight = 0

    public init(maximumSize: Int = 256, maximumBytes: Int = .max, maximumInFlight: Int = 1) {
        precondition(maximumSize > 0 && maximumBytes > 0 && maximumInFlight > 0)
        self.maximumSize = maximumSize
        self.maximumBytes = maximumBytes
        self.maximumInFlight = maximumInFlight
    }

    /// Queues a write. Returns the batch to commit now when fewer than ``maximumInFlight`` are under way (the
    /// caller commits it and then calls ``committed()``), or nil when the write waits for a later batch.
    public mutating func enqueue(_ request: PutRequest, _ waiter: Waiter) -> [Entry]? {
        pending.append((request, waiter))
        return inFlight < maximumInFlight ? take() : nil
    }

    /// Queues several writes at once, in order, so that they go in one batch when they fit (a follower's forwarded
    /// batch arriving at the leader stays one commit).
    public mutating func enqueue(contentsOf entries: [Entry]) -> [Entry]? {
        guard !entries.isEmpty else { return nil }
        pending.append(contentsOf: entries)
        return inFlight < maximumInFlight ? take() : nil
    }

    /// A batch under way finished: the next batch to commit, if writes queued up meanwhile.
    public mutating func committed() -> [Entry]? {
        precondition(inFlight > 0, "committed() without a batch under way")
        inFlight -= 1
        guard queued > 0 else { return nil }
        return take()
    }

    public var queued: Int { pending.count - start }

    public var underWay: Int { inFlight }

    private mutating func take() -> [Entry] {
        inFlight += 1
        var end = start + 1
        var bytes = pending[start].request.size
        while end < pending.count, end - start < maximumSize {
            let size = pending[end].request.size
            guard bytes + size <= maximumBytes else { break }
            bytes += size
            end += 1
        }
        let batch = Array(pending[start..<end])
        start = end
        // The queue's front is dropped when it is empty or has grown long, not at every batch: O(1) per write.
        if start == pending.count {
            pending.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1024, start * 2 > pending.count {
            pending.removeFirst(start)
            start = 0
        }
        return batch
    }
}
