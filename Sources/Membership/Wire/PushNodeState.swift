/// One node of the sender's member list in a push-pull exchange (memberlist `net.go`, `pushNodeState`).
public struct PushNodeState: MessageBody {
    public static let goName = "pushNodeState"
    public var name: String
    public var address: [UInt8]
    public var port: UInt16
    public var meta: [UInt8]
    public var incarnation: UInt32
    public var state: NodeStateKind
    public var versions: [UInt8]

    public init(
        name: String, address: [UInt8], port: UInt16, meta: [UInt8], incarnation: UInt32, state: NodeStateKind,
        versions: [UInt8]
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.versions = versions
    }

    public init(fields: MessagePackFields) throws(WireError) {
        name = try fields.string("Name")
        address = try fields.bytes("Addr")
        port = try fields.unsigned("Port")
        meta = try fields.bytes("Meta")
        incarnation = try fields.unsigned("Incarnation")
        let rawState: Int = try fields.signed("State")
        guard let known = UInt8(exactly: rawState).flatMap(NodeStateKind.init(rawValue:)) else {
            throw .wrongType(field: "pushNodeState.State", expected: "a node state 0…3")
        }
        state = known
        versions = try fields.bytes("Vsn")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(7)
        writer.writeField("Addr")
        writer.writeByteSlice(address)
        writer.writeField("Incarnation")
        writer.writeUInt(UInt64(incarnation))
        writer.writeField("Meta")
        writer.writeByteSlice(meta)
        writer.writeField("Name")
        writer.writeString(name)
        writer.writeField("Port")
        writer.writeUInt(UInt64(port))
        writer.writeField("State")
        writer.writeUInt(UInt64(state.rawValue))
        writer.writeField("Vsn")
        writer.writeByteSlice(versions)
    }
}
