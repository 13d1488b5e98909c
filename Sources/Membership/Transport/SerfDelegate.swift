import Synchronization

/// The part of serf's protocol a member must speak for serf agents to treat it as one of theirs (serf
/// `serf/delegate.go`, `serf/messages.go`, `serf/serf.go`):
///
/// - the push-pull user state is serf's `messagePushPull` (type 2): this member's Lamport time and its own status
///   time, no left members, no events, so serf merges it without error and records this member's join intent;
/// - a graceful leave is first announced with serf's leave intent (`messageLeave`, type 0) at a later Lamport
///   time, which makes serf mark the member `leaving` and then, when memberlist reports it gone, `left` instead of
///   `failed` (`handleNodeLeave`);
/// - serf's messages received (intents, user events, queries) only advance the Lamport clock: outrider runs no
///   serf events or queries and ignores them without error.
public final class SerfDelegate: GossipDelegate {
    /// serf `messageType`.
    enum MessageType: UInt8 {
        case leave = 0, join, pushPull, userEvent, query, queryResponse, conflictResponse, keyRequest, keyResponse, relay
    }

    struct Clocks {
        var member: UInt64 = 1
        var event: UInt64 = 1
        var query: UInt64 = 1
        /// The Lamport time of this member's join, announced as its status time.
        var joinedAt: UInt64 = 1
    }

    public let name: String
    private let clocks = Mutex(Clocks())

    public init(name: String) {
        self.name = name
    }

    public func localState(join: Bool) -> [UInt8] {
        let clocks = clocks.withLock { $0 }
        var writer = MessagePackWriter()
        writer.append(contentsOf: [MessageType.pushPull.rawValue])
        writer.writeMapHeader(6)
        writer.writeString("LTime")
        writer.writeUInt(clocks.member)
        writer.writeString("StatusLTimes")
        writer.writeMapHeader(1)
        writer.writeString(name)
        writer.writeUInt(clocks.joinedAt)
        writer.writeString("LeftMembers")
        writer.writeArrayHeader(0)
        writer.writeString("EventLTime")
        writer.writeUInt(clocks.event)
        writer.writeString("Events")
        writer.writeNil()
        writer.writeString("QueryLTime")
        writer.writeUInt(clocks.query)
        return writer.bytes
    }

    public func mergeRemoteState(_ state: [UInt8], join: Bool) {
        guard state.first == MessageType.pushPull.rawValue, let value = try? MessagePackReader.decode(Array(state.dropFirst())) else { return }
        clocks.withLock { clocks in
            witness(value["LTime"], in: &clocks.member)
            witness(value["EventLTime"], in: &clocks.event)
            witness(value["QueryLTime"], in: &clocks.query)
        }
    }

    public func receive(userMessage: [UInt8]) -> [(message: [UInt8], about: String)] {
        guard let first = userMessage.first, let type = MessageType(rawValue: first),
            let value = try? MessagePackReader.decode(Array(userMessage.dropFirst()))
        else { return [] }
        clocks.withLock { clocks in
            switch type {
            case .leave, .join: witness(value["LTime"], in: &clocks.member)
            case .userEvent: witness(value["LTime"], in: &clocks.event)
            case .query, .queryResponse: witness(value["LTime"], in: &clocks.query)
            default: break
            }
        }
        return []
    }

    /// serf's leave intent for this member, at a new Lamport time (serf `Leave`).
    public func leaveIntent() -> [UInt8] {
        let time = clocks.withLock { clocks in
            clocks.member += 1
            return clocks.member
        }
        var writer = MessagePackWriter()
        writer.append(contentsOf: [MessageType.leave.rawValue])
        writer.writeMapHeader(3)
        writer.writeString("LTime")
        writer.writeUInt(time)
        writer.writeString("Node")
        writer.writeString(name)
        writer.writeString("Prune")
        writer.writeBool(false)
        return writer.bytes
    }

    /// serf's join intent for this member (serf `broadcastJoin`), which also fixes its status time.
    public func joinIntent() -> [UInt8] {
        let time = clocks.withLock { clocks in
            clocks.member += 1
            clocks.joinedAt = clocks.member
            return clocks.member
        }
        var writer = MessagePackWriter()
        writer.append(contentsOf: [MessageType.join.rawValue])
        writer.writeMapHeader(2)
        writer.writeString("LTime")
        writer.writeUInt(time)
        writer.writeString("Node")
        writer.writeString(name)
        return writer.bytes
    }

    /// Lamport `Witness`: the clock moves past any time seen.
    private func witness(_ value: MessagePackValue?, in clock: inout UInt64) {
        guard let value else { return }
        let seen: UInt64
        switch value {
        case .uint(let number): seen = number
        case .int(let number) where number >= 0: seen = UInt64(number)
        default: return
        }
        if seen >= clock { clock = seen &+ 1 }
    }
}
