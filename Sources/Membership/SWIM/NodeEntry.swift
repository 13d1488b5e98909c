import NIOCore

/// One member in the node table (memberlist `state.go` `nodeState`).
public struct NodeEntry: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case alive, suspect, dead, left
    }

    public var name: String
    public var address: NodeAddress
    public var meta: [UInt8]
    public var incarnation: UInt32
    public var state: State
    public var stateChange: NIODeadline
    public var versions: ProtocolVersions?

    public init(name: String, address: NodeAddress, meta: [UInt8], incarnation: UInt32, state: State, stateChange: NIODeadline, versions: ProtocolVersions?) {
        self.name = name
        self.address = address
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.stateChange = stateChange
        self.versions = versions
    }

    public var isDeadOrLeft: Bool { state == .dead || state == .left }
}

/// A member's entry as exchanged in a push-pull (memberlist `pushNodeState`, decoded).
public struct RemoteNodeState: Sendable, Hashable {
    public var name: String
    public var address: NodeAddress
    public var meta: [UInt8]
    public var incarnation: UInt32
    public var state: NodeEntry.State
    public var versions: ProtocolVersions?

    public init(name: String, address: NodeAddress, meta: [UInt8], incarnation: UInt32, state: NodeEntry.State, versions: ProtocolVersions?) {
        self.name = name
        self.address = address
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.versions = versions
    }
}
