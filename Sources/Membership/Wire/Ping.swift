/// A direct probe (memberlist `net.go`, `ping`). `node` lets the target check it is the intended recipient (an
/// agent restarted under another name must not answer); the source fields, `omitempty` in Go, tell the target
/// where to send the ack when the packet came through a relay (protocol version 5 nodes).
public struct Ping: MessageBody {
    public static let goName = "ping"
    public var seqNo: UInt32
    public var node: String
    public var sourceAddress: [UInt8]
    public var sourcePort: UInt16
    public var sourceNode: String

    public init(seqNo: UInt32, node: String, sourceAddress: [UInt8] = [], sourcePort: UInt16 = 0, sourceNode: String = "") {
        self.seqNo = seqNo
        self.node = node
        self.sourceAddress = sourceAddress
        self.sourcePort = sourcePort
        self.sourceNode = sourceNode
    }

    public init(fields: MessagePackFields) throws(WireError) {
        seqNo = try fields.unsigned("SeqNo")
        node = try fields.string("Node")
        sourceAddress = try fields.bytes("SourceAddr")
        sourcePort = try fields.unsigned("SourcePort")
        sourceNode = try fields.string("SourceNode")
    }

    public func write(to writer: inout MessagePackWriter) {
        let omitted = [sourceAddress.isEmpty, sourcePort == 0, sourceNode.isEmpty].count { $0 }
        writer.writeMapHeader(5 - omitted)
        writer.writeField("Node")
        writer.writeString(node)
        writer.writeField("SeqNo")
        writer.writeUInt(UInt64(seqNo))
        writeSource(sourceAddress, sourcePort, sourceNode, to: &writer)
    }
}

/// The `omitempty` source fields shared by ``Ping`` and ``IndirectPingRequest``.
func writeSource(_ address: [UInt8], _ port: UInt16, _ node: String, to writer: inout MessagePackWriter) {
    if !address.isEmpty {
        writer.writeField("SourceAddr")
        writer.writeRaw(address)
    }
    if !node.isEmpty {
        writer.writeField("SourceNode")
        writer.writeString(node)
    }
    if port != 0 {
        writer.writeField("SourcePort")
        writer.writeUInt(UInt64(port))
    }
}
