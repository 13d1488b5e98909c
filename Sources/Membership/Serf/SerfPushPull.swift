/// serf's part of a push-pull exchange, the memberlist delegate's `LocalState` / `MergeRemoteState` (serf
/// `serf/messages.go`, `messagePushPull`; `serf/delegate.go`): its three Lamport clocks, each member's status
/// time, the members that left, and the recent user events (which outrider never has, and ignores).
public struct SerfPushPull: MessageBody {
    public static let goName = "messagePushPull"
    public var lamportTime: UInt64
    /// Member name → the Lamport time of its last join or leave intent.
    public var statusTimes: [String: UInt64]
    public var leftMembers: [String]
    public var eventTime: UInt64
    public var queryTime: UInt64

    public init(lamportTime: UInt64, statusTimes: [String: UInt64], leftMembers: [String], eventTime: UInt64, queryTime: UInt64) {
        self.lamportTime = lamportTime
        self.statusTimes = statusTimes
        self.leftMembers = leftMembers
        self.eventTime = eventTime
        self.queryTime = queryTime
    }

    public init(fields: MessagePackFields) throws(WireError) {
        lamportTime = try fields.unsigned("LTime")
        eventTime = try fields.unsigned("EventLTime")
        queryTime = try fields.unsigned("QueryLTime")
        statusTimes = [:]
        if let value = fields.value("StatusLTimes") {
            guard case .map(let pairs) = value else {
                throw .wrongType(field: "messagePushPull.StatusLTimes", expected: "a map of names to times")
            }
            for pair in pairs {
                guard case .raw(let name) = pair.key, let time = pair.value.unsignedInteger else {
                    throw .wrongType(field: "messagePushPull.StatusLTimes", expected: "a map of names to times")
                }
                statusTimes[String(decoding: name, as: UTF8.self)] = time
            }
        }
        leftMembers = []
        if let value = fields.value("LeftMembers") {
            guard case .array(let names) = value else {
                throw .wrongType(field: "messagePushPull.LeftMembers", expected: "an array of names")
            }
            for name in names {
                guard case .raw(let bytes) = name else {
                    throw .wrongType(field: "messagePushPull.LeftMembers", expected: "an array of names")
                }
                leftMembers.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        if let events = fields.value("Events") {
            guard case .array = events else {
                throw .wrongType(field: "messagePushPull.Events", expected: "an array")
            }
        }
    }

    /// Fields sorted by name as go-msgpack writes them; the status map sorted by name too (Go writes a map in
    /// random order, so any order is serf's); `Events` as an empty array.
    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(6)
        writer.writeField("EventLTime")
        writer.writeUInt(eventTime)
        writer.writeField("Events")
        writer.writeArrayHeader(0)
        writer.writeField("LTime")
        writer.writeUInt(lamportTime)
        writer.writeField("LeftMembers")
        writer.writeArrayHeader(leftMembers.count)
        for name in leftMembers { writer.writeString(name) }
        writer.writeField("QueryLTime")
        writer.writeUInt(queryTime)
        writer.writeField("StatusLTimes")
        writer.writeMapHeader(statusTimes.count)
        for (name, time) in statusTimes.sorted(by: { $0.key < $1.key }) {
            writer.writeString(name)
            writer.writeUInt(time)
        }
    }
}
