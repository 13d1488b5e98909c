/// What memberlist writes back on a stream it could not read (memberlist `net.go`, `errResp`, in `handleConn`).
public struct ErrorResponse: MessageBody {
    public static let goName = "errResp"
    public var error: String

    public init(error: String) { self.error = error }

    public init(fields: MessagePackFields) throws(WireError) {
        error = try fields.string("Error")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(1)
        writer.writeField("Error")
        writer.writeString(error)
    }
}
