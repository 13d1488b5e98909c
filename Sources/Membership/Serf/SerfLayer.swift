/// What a member must keep to answer serf as one of its own: the tags as node metadata, serf's three Lamport
/// clocks, each member's status time and who left by intent (serf `serf/serf.go`, `serf/delegate.go`). A pure
/// value: the gossip member feeds it the serf messages it receives and sends what it returns.
///
/// - Clocks start at 1 (serf `Create`: "Start the clock at 1"); witnessing time `t` moves a clock to `t + 1`
///   when it is not already past `t` (`lamport.go`, `Witness`).
/// - Joining broadcasts a join intent at the current time (`broadcastJoin`); leaving broadcasts a leave intent
///   at the current time and then ticks the clock (`Leave`), before memberlist's own leave, so that serf moves
///   the member to `leaving` and then `left` rather than `failed` (`handleNodeLeave`).
/// - An intent older than or as old as the member's status time is stale and not rebroadcast
///   (`handleNodeJoinIntent`, `handleNodeLeaveIntent`); a leave intent about this node while it is alive is
///   refuted with a new join intent.
/// - Push-pull: ``localState()`` is what `LocalState` sends; ``mergeRemoteState(_:)`` witnesses the remote
///   clocks minus one and applies its left members as leave intents and its status times as join intents
///   (`MergeRemoteState`).
/// - User events and queries only move their clocks (`handleUserEvent`, `handleQuery` witness them first);
///   outrider neither runs nor answers them.
public struct SerfLayer: Sendable, Equatable {
    /// What to do with a received serf message.
    public enum Reaction: Sendable, Equatable {
        /// Nothing to send.
        case none
        /// Rebroadcast the message as received (a new intent spreads this way, as serf does).
        case rebroadcast
        /// Broadcast these serf message bytes (a refutation of a leave intent about this node).
        case broadcast([UInt8])
    }

    public let nodeName: String
    public private(set) var tags: [String: String]
    /// The encoded tags, memberlist's `Meta` for this node.
    public private(set) var meta: [UInt8]
    public private(set) var clock: UInt64 = 1
    public private(set) var eventClock: UInt64 = 1
    public private(set) var queryClock: UInt64 = 1
    /// Member name → Lamport time of its latest intent.
    public private(set) var statusTimes: [String: UInt64] = [:]
    /// Members that announced their leave (serf's `StatusLeaving`/`StatusLeft`).
    public private(set) var leavingMembers: Set<String> = []
    public private(set) var isLeaving = false

    public init(nodeName: String, tags: [String: String]) throws(WireError) {
        self.nodeName = nodeName
        self.tags = tags
        meta = try SerfTags.encode(tags)
        statusTimes[nodeName] = 0
    }

    /// New tags (serf `SetTags`); the caller re-announces the node with a higher incarnation and `meta`.
    public mutating func setTags(_ tags: [String: String]) throws(WireError) {
        meta = try SerfTags.encode(tags)
        self.tags = tags
    }

    /// Whether a member that memberlist reports gone left (its leave intent arrived) rather than failed.
    public func hasLeft(_ name: String) -> Bool { leavingMembers.contains(name) }

    /// The join intent to broadcast when this node joins (serf `broadcastJoin(clock.Time())`).
    public mutating func joinIntent() -> [UInt8] {
        isLeaving = false
        let time = clock
        witness(&clock, time)
        statusTimes[nodeName] = time
        leavingMembers.remove(nodeName)
        return SerfMessage.join(SerfJoin(lamportTime: time, node: nodeName)).encoded()
    }

    /// The leave intent to broadcast before memberlist's leave (serf `Leave`).
    public mutating func leaveIntent() -> [UInt8] {
        isLeaving = true
        let time = clock
        clock += 1
        statusTimes[nodeName] = time
        leavingMembers.insert(nodeName)
        return SerfMessage.leave(SerfLeave(lamportTime: time, node: nodeName)).encoded()
    }

    /// Handles a serf message received in a memberlist user message (serf `delegate.go`, `NotifyMsg`).
    public mutating func receive(_ bytes: [UInt8]) throws(WireError) -> Reaction {
        switch try SerfMessage.decode(bytes) {
        case .join(let join): return applyJoin(join) ? .rebroadcast : .none
        case .leave(let leave): return applyLeave(leave)
        case .userEvent(let event):
            witness(&eventClock, event.lamportTime)
            return .none
        case .query(let query):
            witness(&queryClock, query.lamportTime)
            return .none
        case .pushPull, .other: return .none
        }
    }

    /// serf's push-pull user state (`LocalState`).
    public func localState() -> [UInt8] {
        SerfMessage.pushPull(SerfPushPull(
            lamportTime: clock, statusTimes: statusTimes, leftMembers: leavingMembers.sorted(),
            eventTime: eventClock, queryTime: queryClock)).encoded()
    }

    /// Merges a remote push-pull user state (`MergeRemoteState`). Empty state (a plain memberlist peer) is
    /// ignored.
    public mutating func mergeRemoteState(_ bytes: [UInt8]) throws(WireError) {
        guard !bytes.isEmpty else { return }
        guard case .pushPull(let remote) = try SerfMessage.decode(bytes) else {
            throw .malformed("remote state has bad serf type prefix \(bytes[0])")
        }
        if remote.lamportTime > 0 { witness(&clock, remote.lamportTime - 1) }
        if remote.eventTime > 0 { witness(&eventClock, remote.eventTime - 1) }
        if remote.queryTime > 0 { witness(&queryClock, remote.queryTime - 1) }
        let left = Set(remote.leftMembers)
        for name in remote.leftMembers {
            _ = applyLeave(SerfLeave(lamportTime: (remote.statusTimes[name] ?? 0) + 1, node: name))
        }
        for (name, time) in remote.statusTimes where !left.contains(name) {
            _ = applyJoin(SerfJoin(lamportTime: time, node: name))
        }
    }

    /// Forgets a member memberlist has removed (serf reaps it after its tombstone time).
    public mutating func forget(_ name: String) {
        guard name != nodeName else { return }
        statusTimes[name] = nil
        leavingMembers.remove(name)
    }

    private mutating func applyJoin(_ join: SerfJoin) -> Bool {
        witness(&clock, join.lamportTime)
        if let known = statusTimes[join.node], join.lamportTime <= known { return false }
        statusTimes[join.node] = join.lamportTime
        leavingMembers.remove(join.node)
        return true
    }

    private mutating func applyLeave(_ leave: SerfLeave) -> Reaction {
        witness(&clock, leave.lamportTime)
        if let known = statusTimes[leave.node], leave.lamportTime <= known { return .none }
        if leave.node == nodeName, !isLeaving {
            return .broadcast(joinIntent())
        }
        statusTimes[leave.node] = leave.lamportTime
        leavingMembers.insert(leave.node)
        return .rebroadcast
    }

    /// serf `lamport.go`, `Witness`.
    private func witness(_ clock: inout UInt64, _ time: UInt64) {
        if time >= clock { clock = time &+ 1 }
    }
}
