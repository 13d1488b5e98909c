/// The mapping between the state machine's messages and memberlist's (`net.go`).
extension SWIMMessage {
    /// The state machine's view of a decoded memberlist message; nil for the messages it does not take (push-pull,
    /// user, error, and the framing ones, which the transport handles).
    public init?(_ message: Message) {
        switch message {
        case .ping(let ping):
            let source = NodeAddress(ipBytes: ping.sourceAddress, port: ping.sourcePort)
            self = .ping(seq: ping.seqNo, target: ping.node, source: ping.sourcePort == 0 ? nil : source, sourceName: ping.sourceNode)
        case .indirectPing(let request):
            guard let target = NodeAddress(ipBytes: request.target, port: request.port) else { return nil }
            let source = request.sourcePort == 0 ? nil : NodeAddress(ipBytes: request.sourceAddress, port: request.sourcePort)
            self = .indirectPing(seq: request.seqNo, targetName: request.node, target: target, wantsNack: request.nack, source: source, sourceName: request.sourceNode)
        case .ackResponse(let ack):
            self = .ack(seq: ack.seqNo)
        case .nackResponse(let nack):
            self = .nack(seq: nack.seqNo)
        case .suspect(let suspect):
            self = .suspect(incarnation: suspect.incarnation, node: suspect.node, from: suspect.from)
        case .dead(let dead):
            self = .dead(incarnation: dead.incarnation, node: dead.node, from: dead.from)
        case .alive(let alive):
            guard let address = NodeAddress(ipBytes: alive.address, port: alive.port) else { return nil }
            self = .alive(.init(incarnation: alive.incarnation, node: alive.node, address: address, meta: alive.meta, versions: ProtocolVersions(alive.versions)))
        default:
            return nil
        }
    }

    /// As memberlist encodes it.
    public var wire: Message {
        switch self {
        case .ping(let seq, let target, let source, let sourceName):
            return .ping(Ping(seqNo: seq, node: target, sourceAddress: source?.ipBytes ?? [], sourcePort: UInt16(clamping: source?.port ?? 0), sourceNode: sourceName))
        case .indirectPing(let seq, let targetName, let target, let wantsNack, let source, let sourceName):
            return .indirectPing(IndirectPingRequest(seqNo: seq, target: target.ipBytes, port: UInt16(clamping: target.port), node: targetName, nack: wantsNack, sourceAddress: source?.ipBytes ?? [], sourcePort: UInt16(clamping: source?.port ?? 0), sourceNode: sourceName))
        case .ack(let seq):
            return .ackResponse(AckResponse(seqNo: seq))
        case .nack(let seq):
            return .nackResponse(NackResponse(seqNo: seq))
        case .suspect(let incarnation, let node, let from):
            return .suspect(Suspect(incarnation: incarnation, node: node, from: from))
        case .dead(let incarnation, let node, let from):
            return .dead(Dead(incarnation: incarnation, node: node, from: from))
        case .alive(let a):
            return .alive(Alive(incarnation: a.incarnation, node: a.node, address: a.address.ipBytes, port: UInt16(clamping: a.address.port), meta: a.meta, versions: a.versions?.bytes ?? []))
        case .user(let bytes):
            return .user(bytes)
        }
    }
}

extension RemoteNodeState {
    public init?(_ state: PushNodeState) {
        guard let address = NodeAddress(ipBytes: state.address, port: state.port) else { return nil }
        let kind: NodeEntry.State =
            switch state.state {
            case .alive: .alive
            case .suspect: .suspect
            case .dead: .dead
            case .left: .left
            }
        self.init(name: state.name, address: address, meta: state.meta, incarnation: state.incarnation, state: kind, versions: ProtocolVersions(state.versions))
    }

    public var wire: PushNodeState {
        let kind: NodeStateKind =
            switch state {
            case .alive: .alive
            case .suspect: .suspect
            case .dead: .dead
            case .left: .left
            }
        return PushNodeState(name: name, address: address.ipBytes, port: UInt16(clamping: address.port), meta: meta, incarnation: incarnation, state: kind, versions: versions?.bytes ?? [])
    }
}
