import Synchronization

/// serf's layer (``SerfLayer``) plugged into a ``GossipNode`` as memberlist's delegate (serf
/// `serf/delegate.go`): serf's push-pull state sent and merged, serf's messages received and rebroadcast as serf
/// does, and the join and leave intents the member broadcasts. A graceful leave must gossip ``leaveIntent()``
/// before memberlist's leave so that serf reports the member `left` rather than `failed`.
public final class SerfDelegate: GossipDelegate {
    private let layer: Mutex<SerfLayer>
    private let relayed = Mutex<UInt64>(0)

    public init(name: String, tags: [String: String]) throws(WireError) {
        layer = Mutex(try SerfLayer(nodeName: name, tags: tags))
    }

    /// The tags as node metadata.
    public var meta: [UInt8] { layer.withLock { $0.meta } }

    /// New tags (serf `SetTags`); returns the metadata to announce at a new incarnation.
    public func setTags(_ tags: [String: String]) throws(WireError) -> [UInt8] {
        try layer.withLock { (layer: inout SerfLayer) throws(WireError) -> [UInt8] in
            try layer.setTags(tags)
            return layer.meta
        }
    }

    public func joinIntent() -> [UInt8] { layer.withLock { $0.joinIntent() } }
    public func leaveIntent() -> [UInt8] { layer.withLock { $0.leaveIntent() } }

    public func localState(join: Bool) -> [UInt8] { layer.withLock { $0.localState() } }

    public func mergeRemoteState(_ state: [UInt8], join: Bool) {
        layer.withLock { _ = try? $0.mergeRemoteState(state) }
    }

    public func receive(userMessage: [UInt8]) -> [(message: [UInt8], about: String)] {
        let reaction = layer.withLock { try? $0.receive(userMessage) } ?? SerfLayer.Reaction.none
        let key = relayed.withLock { count in
            count &+= 1
            return "serf-relay-\(count)"
        }
        switch reaction {
        case .none: return []
        case .rebroadcast: return [(userMessage, key)]
        case .broadcast(let bytes): return [(bytes, key)]
        }
    }
}
