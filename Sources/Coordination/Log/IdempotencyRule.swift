/// What a write carrying an `Idempotency-Key` does, given what the store remembers under that key.
///
/// As the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header, section
/// 2.6) and Stripe's API do: the first request's answer is stored with the key in the transaction that commits the
/// write, so a retry cannot both miss the answer and find the write; a retry gets that answer again and writes
/// nothing; the same key with a different request is refused (409), since answering it with another request's
/// result would be a lie.
///
/// Keys are kept for a retention (``defaultRetention``, a day, as Stripe keeps them), not for ever: the draft
/// (section 2.3) lets a resource expire a key after a time it publishes, and then a request with that key is a new
/// one. A record older than the retention counts as absent even before the leader prunes it
/// (``CoordinationStore/pruneIdempotencyKeys(group:olderThan:limit:)``), so the answer does not depend on when the
/// pruning ran.
public enum IdempotencyRule {
    /// How long a key is remembered unless the configuration says otherwise.
    public static let defaultRetention: Duration = .seconds(24 * 3600)

    /// What the store keeps under an idempotency key.
    public struct Record: Sendable, Hashable, Codable {
        /// The request the key was first used with (key, value and mode, without the idempotency key).
        public var request: PutRequest
        public var answer: PutAnswer

        public init(request: PutRequest, answer: PutAnswer) {
            var request = request
            request.idempotencyKey = nil
            self.request = request
            self.answer = answer
        }
    }

    public enum Decision: Sendable, Hashable {
        /// No key, or a key never seen: write.
        case write
        /// A retry: answer with the first write's answer, write nothing.
        case replay(PutAnswer)
        /// The key was used for another request.
        case conflict
    }

    /// `remembered` is what the store holds under the request's key and when (by the store's clock) it was stored.
    public static func decide(_ request: PutRequest, remembered: Record?, storedAt: StoreTime? = nil, now: StoreTime? = nil, retention: Duration = defaultRetention) -> Decision {
        guard request.idempotencyKey != nil, let remembered else { return .write }
        if let storedAt, let now, isExpired(storedAt: storedAt, now: now, retention: retention) { return .write }
        var asked = request
        asked.idempotencyKey = nil
        return asked == remembered.request ? .replay(remembered.answer) : .conflict
    }

    /// Whether a record stored at `storedAt` is past its retention at `now`.
    public static func isExpired(storedAt: StoreTime, now: StoreTime, retention: Duration) -> Bool {
        now - storedAt >= retention
    }

}
