/// Broadcast when a node is alive, and by a node joining or refuting a suspicion (memberlist `net.go`, `alive`;
/// `state.go`, `aliveNode`). `meta` is the delegate's node metadata (serf's encoded tags), at most
/// ``Alive/maximumMetaSize`` bytes; `versions` is `Vsn`, six bytes: protocol min, max, current, delegate min,
/// max, current (see ``ProtocolVersions``).
public struct Alive: MessageBody {
    public static let goName = "alive"
    /// memberlist `net.go`, `MetaMaxSize`.
    public static let maximumMetaSize = 512

    public var incarnation: UInt32
    public var node: String
    public var address: [UInt8]
    public var port: UInt16
    public var meta: [UInt8]
    public var versions: [UInt8]

    public init(incarnation: UInt32, node: String, address: [UInt8], port: UInt16, meta: [UInt8], versions: [UInt8]) {
        self.incarnation = incarnation
        self.node = node
        self.address = address
        self.port = port
        self.meta = meta
        self.versions = versions
    }

    public init(fields: MessagePackFields) throws(WireError) {
        incarnation = try fields.unsigned("Incarnation")
        node = try fields.string("Node")
        address = try fields.bytes("Addr")
        port = try fields.unsigned("Port")
        meta = try fields.bytes("Meta")
        versions = try fields.bytes("Vsn")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(6)
        writer.writeField("Addr")
        writer.writeByteSlice(address)
        writer.writeField("Incarnation")
        writer.writeUInt(UInt64(incarnation))
        writer.writeField("Meta")
        writer.writeByteSlice(meta)
        writer.writeField("Node")
        writer.writeString(node)
        writer.writeField("Port")
        writer.writeUInt(UInt64(port))
        writer.writeField("Vsn")
        writer.writeByteSlice(versions)
    }
}
