/// One value of a key in the coordinator's log: what hedge's `logtable` row holds (key, value, leader, timestamp),
/// with the revision and the fencing token of the term that wrote it.
///
/// Revisions are one sequence for the whole group, as etcd's are: every committed write gets the next, so a watch
/// resumes from "after revision R" whatever key it follows.
public struct LogEntry: Sendable, Hashable, Codable {
    public var key: String
    public var value: String
    public var revision: Int64
    /// The member that wrote the entry as leader.
    public var leader: String
    public var token: FencingToken
    /// The store's clock at the commit.
    public var time: StoreTime

    public init(key: String, value: String, revision: Int64, leader: String, token: FencingToken, time: StoreTime) {
        self.key = key
        self.value = value
        self.revision = revision
        self.leader = leader
        self.token = token
        self.time = time
    }
}

extension FencingToken: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(UInt64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

extension StoreTime: Codable {
    /// Microseconds since the epoch, the resolution both stores keep.
    public init(from decoder: any Decoder) throws {
        self.init(microsecondsSinceEpoch: try decoder.singleValueContainer().decode(Int64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microsecondsSinceEpoch)
    }

    public var microsecondsSinceEpoch: Int64 {
        let (seconds, attoseconds) = sinceEpoch.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
