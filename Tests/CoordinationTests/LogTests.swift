import Coordination
import Testing

@Suite struct LogLimitTests {
    let entries = [1, 2, 3, 4, 5]

    @Test func limitsChooseFromTheOldestFirstList() {
        #expect(LogLimit("latest")?.apply(to: entries) == [5])
        #expect(LogLimit("oldest")?.apply(to: entries) == [1])
        #expect(LogLimit("all")?.apply(to: entries) == entries)
        #expect(LogLimit("3")?.apply(to: entries) == [3, 4, 5])
        #expect(LogLimit("1") == .latest)
        #expect(LogLimit("10")?.apply(to: entries) == entries)
        #expect(LogLimit("latest")?.apply(to: [Int]()) == [])
    }

    @Test func anythingElseIsRefused() {
        for text in ["", "0", "-1", "newest", "1.5", " 2", "LATEST"] {
            #expect(LogLimit(text) == nil, "\(text)")
        }
    }
}

@Suite struct IdempotencyRuleTests {
    let answer = PutAnswer(key: "k", revision: 7, leader: "a", token: FencingToken(2))

    @Test func aRetryGetsTheFirstAnswerAndAnotherRequestUnderTheKeyIsRefused() {
        let first = PutRequest(key: "k", value: "v", idempotencyKey: "i-1")
        let record = IdempotencyRule.Record(request: first, answer: answer)
        #expect(IdempotencyRule.decide(first, remembered: nil) == .write)
        #expect(IdempotencyRule.decide(first, remembered: record) == .replay(answer))
        #expect(IdempotencyRule.decide(PutRequest(key: "k", value: "other", idempotencyKey: "i-1"), remembered: record) == .conflict)
        #expect(IdempotencyRule.decide(PutRequest(key: "k", value: "v", mode: .overwrite, idempotencyKey: "i-1"), remembered: record) == .conflict)
        #expect(IdempotencyRule.decide(PutRequest(key: "k", value: "v"), remembered: record) == .write, "no key: always a write")
    }

    /// Store times passed in: a record is the answer for its retention, and after it a request with the key is a
    /// new write (draft-ietf-httpapi-idempotency-key-header, section 2.3), pruned or not.
    @Test func aKeyIsRememberedForItsRetentionOnly() {
        let first = PutRequest(key: "k", value: "v", idempotencyKey: "i-1")
        let record = IdempotencyRule.Record(request: first, answer: answer)
        let stored = StoreTime(microsecondsSinceEpoch: 1_700_000_000_000_000)
        let day = IdempotencyRule.defaultRetention
        #expect(day == .seconds(86400))
        #expect(IdempotencyRule.decide(first, remembered: record, storedAt: stored, now: stored, retention: day) == .replay(answer))
        #expect(IdempotencyRule.decide(first, remembered: record, storedAt: stored, now: stored + (day - .microseconds(1)), retention: day) == .replay(answer))
        #expect(IdempotencyRule.decide(first, remembered: record, storedAt: stored, now: stored + day, retention: day) == .write)
        let other = PutRequest(key: "k", value: "other", idempotencyKey: "i-1")
        #expect(IdempotencyRule.decide(other, remembered: record, storedAt: stored, now: stored + .seconds(60), retention: day) == .conflict)
        #expect(IdempotencyRule.decide(other, remembered: record, storedAt: stored, now: stored + day + .seconds(1), retention: day) == .write,
                "an expired key may be used for another request")
        #expect(IdempotencyRule.decide(first, remembered: record, storedAt: stored, now: stored + .seconds(2), retention: .seconds(1)) == .write)
        #expect(!IdempotencyRule.isExpired(storedAt: stored, now: stored + .seconds(59), retention: .seconds(60)))
        #expect(IdempotencyRule.isExpired(storedAt: stored, now: stored + .seconds(60), retention: .seconds(60)))
    }
}

@Suite struct PutBatchTests {
    @Test func writesArrivingDuringACommitGoTogetherInTheNext() {
        var batch = PutBatch<Int>(maximumSize: 3)
        let first = batch.enqueue(PutRequest(key: "a", value: "1"), 1)
        #expect(first?.map { $0.waiter } == [1])
        for waiter in 2...6 { let value1 = batch.enqueue(PutRequest(key: "a", value: "\(waiter)"), waiter); #expect(value1 == nil) }
        let value2 = batch.committed()?.map { $0.waiter }
        #expect(value2 == [2, 3, 4])
        let value3 = batch.enqueue(PutRequest(key: "a", value: "7"), 7)
        #expect(value3 == nil)
        let value4 = batch.committed()?.map { $0.waiter }
        #expect(value4 == [5, 6, 7])
        let value5 = batch.committed()
        #expect(value5 == nil)
        let value6 = batch.enqueue(PutRequest(key: "a", value: "8"), 8)?.map { $0.waiter }
        #expect(value6 == [8], "idle again: commits at once")
    }

    /// A follower's forwarding: two batches on their way at once, the third waits and takes everything queued.
    @Test func twoBatchesUnderWayAndTheRestTogether() {
        var batch = PutBatch<Int>(maximumInFlight: 2)
        #expect(batch.enqueue(PutRequest(key: "a", value: "1"), 1)?.map(\.waiter) == [1])
        #expect(batch.enqueue(PutRequest(key: "a", value: "2"), 2)?.map(\.waiter) == [2])
        for waiter in 3...5 { #expect(batch.enqueue(PutRequest(key: "a", value: "\(waiter)"), waiter) == nil) }
        #expect(batch.underWay == 2 && batch.queued == 3)
        #expect(batch.committed()?.map(\.waiter) == [3, 4, 5])
        #expect(batch.enqueue(PutRequest(key: "a", value: "6"), 6) == nil, "still two under way")
        #expect(batch.committed()?.map(\.waiter) == [6])
        #expect(batch.committed() == nil)
        #expect(batch.committed() == nil)
        #expect(batch.underWay == 0 && batch.queued == 0)
    }

    /// A batch holds at most `maximumBytes` of keys, values and idempotency keys, except a single larger Put.
    @Test func aBatchStopsAtItsBytes() {
        var batch = PutBatch<Int>(maximumBytes: 10)
        #expect(batch.enqueue(PutRequest(key: "k", value: "1"), 0)?.map(\.waiter) == [0])
        let sizes = [(1, "12345"), (2, "12345"), (3, "1234567890123"), (4, "1"), (5, "1"), (6, "123"), (7, "1")]
        for (waiter, value) in sizes { #expect(batch.enqueue(PutRequest(key: "k", value: value, idempotencyKey: waiter == 5 ? "ii" : nil), waiter) == nil) }
        #expect(PutRequest(key: "k", value: "1", idempotencyKey: "ii").size == 4)
        #expect(batch.committed()?.map(\.waiter) == [1], "6 bytes, and 6 more would pass 10")
        #expect(batch.committed()?.map(\.waiter) == [2])
        #expect(batch.committed()?.map(\.waiter) == [3], "larger than the limit: alone")
        #expect(batch.committed()?.map(\.waiter) == [4, 5, 6], "2 + 4 + 4 bytes: 10 exactly; 2 more would pass it")
        #expect(batch.committed()?.map(\.waiter) == [7])
        #expect(batch.committed() == nil)
    }

    /// Several writes queued at once go in one batch, in order, when nothing is under way.
    @Test func writesQueuedTogetherGoTogether() {
        var batch = PutBatch<Int>(maximumSize: 4)
        #expect(batch.enqueue(contentsOf: []) == nil)
        #expect(batch.enqueue(contentsOf: (1...3).map { (PutRequest(key: "k", value: "\($0)"), $0) })?.map(\.waiter) == [1, 2, 3])
        #expect(batch.enqueue(contentsOf: (4...9).map { (PutRequest(key: "k", value: "\($0)"), $0) }) == nil)
        #expect(batch.committed()?.map(\.waiter) == [4, 5, 6, 7])
        #expect(batch.committed()?.map(\.waiter) == [8, 9])
        #expect(batch.committed() == nil)
    }

    /// Many writes through a long queue: each goes once, in order, however the queue's front is dropped.
    @Test func aLongQueueKeepsItsOrder() {
        var batch = PutBatch<Int>(maximumSize: 7)
        var seen: [Int] = []
        seen += batch.enqueue(PutRequest(key: "k", value: "0"), 0)?.map(\.waiter) ?? []
        for waiter in 1..<5000 { seen += batch.enqueue(PutRequest(key: "k", value: "\(waiter)"), waiter)?.map(\.waiter) ?? [] }
        while let next = batch.committed() { seen += next.map(\.waiter) }
        #expect(seen == Array(0..<5000))
    }
}

