/// The answer to a ``Ping`` (memberlist `net.go`, `ackResp`). `payload` is the ping delegate's data (serf sends
/// its network coordinate there); empty is written as Go's nil slice.
public struct AckResponse: MessageBody {
    public static let goName = "ackResp"
    public var seqNo: UInt32
    public var payload: [UInt8]

    public init(seqNo: UInt32, payload: [UInt8] = []) {
        self.seqNo = seqNo
        self.payload = payload
    }

    public init(fields: MessagePackFields) throws(WireError) {
        seqNo = try fields.unsigned("SeqNo")
        payload = try fields.bytes("Payload")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(2)
        writer.writeField("Payload")
        writer.writeByteSlice(payload)
        writer.writeField("SeqNo")
        writer.writeUInt(UInt64(seqNo))
    }
}
