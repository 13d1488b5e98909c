/// serf's messages, carried in memberlist user messages (after memberlist's `user` type byte) and in
/// push-pull's user state: a serf type byte, then msgpack (serf `serf/messages.go`, `messageType`,
/// `encodeMessage`/`decodeMessage`, the same go-msgpack handle as memberlist's, so fields sorted by name).
///
/// Join and leave intents and push-pull state are what a member must speak for serf to see it correctly; user
/// events and queries are decoded (their clocks matter) and otherwise ignored; the other types (query
/// responses, name-conflict responses, key requests, relays) are kept as bytes.
public enum SerfMessage: Sendable, Equatable {
    case leave(SerfLeave)
    case join(SerfJoin)
    case pushPull(SerfPushPull)
    case userEvent(SerfUserEvent)
    case query(SerfQuery)
    /// Any other serf message type, undecoded.
    case other(type: UInt8, body: [UInt8])

    /// serf `serf/messages.go`, `messageType` (append-only).
    public enum Kind: UInt8, Sendable {
        case leave = 0, join, pushPull, userEvent, query, queryResponse, conflictResponse, keyRequest, keyResponse, relay
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SerfMessage {
        guard let first = bytes.first else { throw .truncated(what: "serf message type byte", needed: 1) }
        let body = Array(bytes.dropFirst())
        switch Kind(rawValue: first) {
        case .leave: return .leave(try SerfLeave(decoding: body))
        case .join: return .join(try SerfJoin(decoding: body))
        case .pushPull: return .pushPull(try SerfPushPull(decoding: body))
        case .userEvent: return .userEvent(try SerfUserEvent(decoding: body))
        case .query: return .query(try SerfQuery(decoding: body))
        case .some: return .other(type: first, body: body)
        case nil: throw .malformed("unknown serf message type \(first)")
        }
    }

    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter()
        switch self {
        case .leave(let body):
            writer.append(contentsOf: [Kind.leave.rawValue])
            body.write(to: &writer)
        case .join(let body):
            writer.append(contentsOf: [Kind.join.rawValue])
            body.write(to: &writer)
        case .pushPull(let body):
            writer.append(contentsOf: [Kind.pushPull.rawValue])
            body.write(to: &writer)
        case .userEvent(let body):
            writer.append(contentsOf: [Kind.userEvent.rawValue])
            body.write(to: &writer)
        case .query(let body):
            writer.append(contentsOf: [Kind.query.rawValue])
            writer.append(contentsOf: body.messagePack)
        case .other(let type, let body):
            writer.append(contentsOf: [type])
            writer.append(contentsOf: body)
        }
        return writer.bytes
    }
}

/// serf's join intent (`messageJoin{LTime, Node}`): the node's status time, so that an older leave intent
/// does not win over a rejoin.
public struct SerfJoin: MessageBody {
    public static let goName = "messageJoin"
    public var lamportTime: UInt64
    public var node: String

    public init(lamportTime: UInt64, node: String) {
        self.lamportTime = lamportTime
        self.node = node
    }

    public init(fields: MessagePackFields) throws(WireError) {
        lamportTime = try fields.unsigned("LTime")
        node = try fields.string("Node")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(2)
        writer.writeField("LTime")
        writer.writeUInt(lamportTime)
        writer.writeField("Node")
        writer.writeString(node)
    }
}

/// serf's leave intent (`messageLeave{LTime, Node, Prune}`), broadcast before memberlist's own leave so that
/// serf records the node as `left` rather than `failed` (serf `serf/serf.go`, `Leave`, `handleNodeLeave`).
public struct SerfLeave: MessageBody {
    public static let goName = "messageLeave"
    public var lamportTime: UInt64
    public var node: String
    public var prune: Bool

    public init(lamportTime: UInt64, node: String, prune: Bool = false) {
        self.lamportTime = lamportTime
        self.node = node
        self.prune = prune
    }

    public init(fields: MessagePackFields) throws(WireError) {
        lamportTime = try fields.unsigned("LTime")
        node = try fields.string("Node")
        prune = try fields.bool("Prune")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(3)
        writer.writeField("LTime")
        writer.writeUInt(lamportTime)
        writer.writeField("Node")
        writer.writeString(node)
        writer.writeField("Prune")
        writer.writeBool(prune)
    }
}

/// A serf user event (`messageUserEvent{LTime, Name, Payload, CC}`); outrider reads its clock and ignores it.
public struct SerfUserEvent: MessageBody {
    public static let goName = "messageUserEvent"
    public var lamportTime: UInt64
    public var name: String
    public var payload: [UInt8]
    public var canCoalesce: Bool

    public init(lamportTime: UInt64, name: String, payload: [UInt8], canCoalesce: Bool) {
        self.lamportTime = lamportTime
        self.name = name
        self.payload = payload
        self.canCoalesce = canCoalesce
    }

    public init(fields: MessagePackFields) throws(WireError) {
        lamportTime = try fields.unsigned("LTime")
        name = try fields.string("Name")
        payload = try fields.bytes("Payload")
        canCoalesce = try fields.bool("CC")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(4)
        writer.writeField("CC")
        writer.writeBool(canCoalesce)
        writer.writeField("LTime")
        writer.writeUInt(lamportTime)
        writer.writeField("Name")
        writer.writeString(name)
        writer.writeField("Payload")
        writer.writeByteSlice(payload)
    }
}

/// A serf query (`messageQuery`); outrider reads its clock, ID and name and ignores it. The whole map is kept
/// so that it re-encodes as received.
public struct SerfQuery: MessageBody {
    public static let goName = "messageQuery"
    public var lamportTime: UInt64
    public var id: UInt32
    public var name: String
    public var fields: MessagePackValue

    public init(fields: MessagePackFields) throws(WireError) {
        lamportTime = try fields.unsigned("LTime")
        id = try fields.unsigned("ID")
        name = try fields.string("Name")
        self.fields = .nil
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        let value = try MessagePackReader.decode(bytes)
        try self.init(fields: MessagePackFields(value, context: Self.goName))
        fields = value
    }

    public func write(to writer: inout MessagePackWriter) { writer.write(fields) }
}
