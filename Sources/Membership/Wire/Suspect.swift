/// Broadcast when `from` suspects `node` at `incarnation` (memberlist `net.go`, `suspect`; `state.go`,
/// `suspectNode`).
public struct Suspect: MessageBody {
    public static let goName = "suspect"
    public var incarnation: UInt32
    public var node: String
    public var from: String

    public init(incarnation: UInt32, node: String, from: String) {
        self.incarnation = incarnation
        self.node = node
        self.from = from
    }

    public init(fields: MessagePackFields) throws(WireError) {
        incarnation = try fields.unsigned("Incarnation")
        node = try fields.string("Node")
        from = try fields.string("From")
    }

    public func write(to writer: inout MessagePackWriter) {
        writeIncarnationNodeFrom(incarnation, node, from, to: &writer)
    }
}

/// The three fields ``Suspect`` and ``Dead`` share, in go-msgpack's (sorted) order.
func writeIncarnationNodeFrom(_ incarnation: UInt32, _ node: String, _ from: String, to writer: inout MessagePackWriter) {
    writer.writeMapHeader(3)
    writer.writeField("From")
    writer.writeString(from)
    writer.writeField("Incarnation")
    writer.writeUInt(UInt64(incarnation))
    writer.writeField("Node")
    writer.writeString(node)
}
