/// What SWIM members say to each other, independent of their encoding: the transport maps these to and from
/// memberlist's messages (`net.go`: `ping`, `indirectPingReq`, `ackResp`, `nackResp`, `suspect`, `alive`, `dead`).
public enum SWIMMessage: Sendable, Hashable {
    /// A direct probe; `target` is the name the prober believes it is probing (empty from old versions).
    case ping(seq: UInt32, target: String, source: NodeAddress?, sourceName: String)
    /// A request to probe `target` on the sender's behalf; `wantsNack` asks for a nack when the target is silent.
    case indirectPing(seq: UInt32, targetName: String, target: NodeAddress, wantsNack: Bool, source: NodeAddress?, sourceName: String)
    case ack(seq: UInt32)
    case nack(seq: UInt32)
    case suspect(incarnation: UInt32, node: String, from: String)
    case alive(Announcement)
    case dead(incarnation: UInt32, node: String, from: String)
    /// A message of the layer above (serf's), gossiped with the others; the state machine only carries it.
    case user([UInt8])

    /// A member's claim to be alive at an incarnation, with its address, metadata and protocol versions.
    public struct Announcement: Sendable, Hashable {
        public var incarnation: UInt32
        public var node: String
        public var address: NodeAddress
        public var meta: [UInt8]
        public var versions: ProtocolVersions?

        public init(incarnation: UInt32, node: String, address: NodeAddress, meta: [UInt8], versions: ProtocolVersions?) {
            self.incarnation = incarnation
            self.node = node
            self.address = address
            self.meta = meta
            self.versions = versions
        }
    }

    /// The kind, for metrics (`outrider_gossip_messages_total{type}`).
    public var kind: String {
        switch self {
        case .ping: "ping"
        case .indirectPing: "indirect_ping"
        case .ack: "ack"
        case .nack: "nack"
        case .suspect: "suspect"
        case .alive: "alive"
        case .dead: "dead"
        case .user: "user"
        }
    }
}
