/// A write to the log as a member asks the leader for it.
///
/// hedge's `Put` always appends, and its `NoAppend` option overwrites the latest value instead; the idempotency key
/// is outrider's: a client that lost the answer (its leader killed with the request in flight) sends the same
/// request again with the same key and gets the first answer, with nothing appended twice.
public struct PutRequest: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable {
        /// A new entry after the key's others (hedge's default).
        case append
        /// The latest entry's value is replaced, keeping one entry (hedge's `NoAppend`); the entry gets a new
        /// revision, so a watch sees the change.
        case overwrite
    }

    public var key: String
    public var value: String
    public var mode: Mode
    public var idempotencyKey: String?

    public init(key: String, value: String, mode: Mode = .append, idempotencyKey: String? = nil) {
        self.key = key
        self.value = value
        self.mode = mode
        self.idempotencyKey = idempotencyKey
    }
}

/// The answer to a committed write: what the 201 carries.
public struct PutAnswer: Sendable, Hashable, Codable {
    public var key: String
    public var revision: Int64
    public var leader: String
    public var token: FencingToken

    public init(key: String, revision: Int64, leader: String, token: FencingToken) {
        self.key = key
        self.revision = revision
        self.leader = leader
        self.token = token
    }
}

extension PutRequest {
    /// The bytes of its key, value and idempotency key: what a batch's ``PutBatch/maximumBytes`` counts.
    public var size: Int { key.utf8.count + value.utf8.count + (idempotencyKey?.utf8.count ?? 0) }
}
