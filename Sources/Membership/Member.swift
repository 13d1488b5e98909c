/// A host in the gossip cluster, as memberlist's `Node` describes it: a name, an address, and the metadata the
/// member gossips about itself (scrimplb puts the applications a backend serves there).
public struct Member: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case alive
        /// Suspected of failure by SWIM's indirect probing; still counted until the suspicion times out.
        case suspect
        case dead
        /// Left the cluster on purpose.
        case left
    }

    public var name: String
    public var host: String
    public var port: Int
    public var status: Status
    /// Key/value tags, such as `role=backend` or `apps=web,api`.
    public var tags: [String: String]

    public init(name: String, host: String, port: Int, status: Status, tags: [String: String] = [:]) {
        self.name = name
        self.host = host
        self.port = port
        self.status = status
        self.tags = tags
    }

    /// Whether other roles should send work to this member: alive or merely suspected, as memberlist counts a
    /// suspect member until it is declared dead.
    public var isReachable: Bool { status == .alive || status == .suspect }
}
