/// What a write carrying an `Idempotency-Key` does, given what the store remembers under that key.
///
/// As the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header, section
/// 2.6) and Stripe's API do: the first request's answer is stored with the key in the transaction that commits the
/// write, so a retry cannot both miss the answer and find the write; a retry gets that answer again and writes
/// nothing; the same key with a different request is refused (409), since answering it with another request's
/// result would be a lie.
public enum IdempotencyRule {
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

    public static func decide(_ request: PutRequest, remembered: Record?) -> Decision {
        guard request.idempotencyKey != nil, let remembered else { return .write }
        var asked = request
        asked.idempotencyKey = nil
        return asked == remembered.request ? .replay(remembered.answer) : .conflict
    }
}
