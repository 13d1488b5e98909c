/// Sent by the relay of an ``IndirectPingRequest`` asking for it when the target did not answer within the probe
/// timeout (memberlist `net.go`, `nackResp`).
public struct NackResponse: MessageBody {
    public static let goName = "nackResp"
    public var seqNo: UInt32

    public init(seqNo: UInt32) { self.seqNo = seqNo }

    public init(fields: MessagePackFields) throws(WireError) {
        seqNo = try fields.unsigned("SeqNo")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(1)
        writer.writeField("SeqNo")
        writer.writeUInt(UInt64(seqNo))
    }
}
