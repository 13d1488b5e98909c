/// Who leads a group as one member knows it.
public struct LeaderView: Sendable, Hashable {
    public var name: String
    public var token: FencingToken
    public var isSelf: Bool

    public init(name: String, token: FencingToken, isSelf: Bool) {
        self.name = name
        self.token = token
        self.isSelf = isSelf
    }
}

/// Why a member cannot serve a write now.
public enum MemberRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// This member is not (or no longer) the leader.
    case notLeader
    /// The store failed; the reason is the store's.
    case storeUnavailable(String)
    /// The member is stopping.
    case stopping

    public var description: String {
        switch self {
        case .notLeader: "this member is not the leader"
        case .storeUnavailable(let reason): reason
        case .stopping: "the member is stopping"
        }
    }
}
