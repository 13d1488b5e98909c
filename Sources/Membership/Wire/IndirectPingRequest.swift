/// Asks a member to probe `target:port` on the sender's behalf (memberlist `net.go`, `indirectPingReq`); with
/// `nack` (protocol version 4 and later) the relay answers with a ``NackResponse`` when the target stays silent,
/// which Lifeguard uses to tell the sender's own health from the target's.
public struct IndirectPingRequest: MessageBody {
    public static let goName = "indirectPingReq"
    public var seqNo: UInt32
    public var target: [UInt8]
    public var port: UInt16
    public var node: String
    public var nack: Bool
    public var sourceAddress: [UInt8]
    public var sourcePort: UInt16
    public var sourceNode: String

    public init(
        seqNo: UInt32, target: [UInt8], port: UInt16, node: String, nack: Bool,
        sourceAddress: [UInt8] = [], sourcePort: UInt16 = 0, sourceNode: String = ""
    ) {
        self.seqNo = seqNo
        self.target = target
        self.port = port
        self.node = node
        self.nack = nack
        self.sourceAddress = sourceAddress
        self.sourcePort = sourcePort
        self.sourceNode = sourceNode
    }

    public init(fields: MessagePackFields) throws(WireError) {
        seqNo = try fields.unsigned("SeqNo")
        target = try fields.bytes("Target")
        port = try fields.unsigned("Port")
        node = try fields.string("Node")
        nack = try fields.bool("Nack")
        sourceAddress = try fields.bytes("SourceAddr")
        sourcePort = try fields.unsigned("SourcePort")
        sourceNode = try fields.string("SourceNode")
    }

    public func write(to writer: inout MessagePackWriter) {
        let omitted = [sourceAddress.isEmpty, sourcePort == 0, sourceNode.isEmpty].count { $0 }
        writer.writeMapHeader(8 - omitted)
        writer.writeField("Nack")
        writer.writeBool(nack)
        writer.writeField("Node")
        writer.writeString(node)
        writer.writeField("Port")
        writer.writeUInt(UInt64(port))
        writer.writeField("SeqNo")
        writer.writeUInt(UInt64(seqNo))
        writeSource(sourceAddress, sourcePort, sourceNode, to: &writer)
        writer.writeField("Target")
        writer.writeByteSlice(target)
    }
}
