/// The first value of a push-pull exchange on a stream (memberlist `net.go`, `pushPullHeader`): how many
/// ``PushNodeState`` values follow, then how many bytes of the delegate's user state follow those, and whether
/// this is a join rather than a periodic anti-entropy run.
public struct PushPullHeader: MessageBody {
    public static let goName = "pushPullHeader"
    public var nodes: Int
    public var userStateLength: Int
    public var join: Bool

    public init(nodes: Int, userStateLength: Int, join: Bool) {
        self.nodes = nodes
        self.userStateLength = userStateLength
        self.join = join
    }

    public init(fields: MessagePackFields) throws(WireError) {
        nodes = try fields.signed("Nodes")
        userStateLength = try fields.signed("UserStateLen")
        join = try fields.bool("Join")
        guard nodes >= 0, userStateLength >= 0 else { throw .malformed("pushPullHeader: negative count or length") }
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(3)
        writer.writeField("Join")
        writer.writeBool(join)
        writer.writeField("Nodes")
        writer.writeInt(Int64(nodes))
        writer.writeField("UserStateLen")
        writer.writeInt(Int64(userStateLength))
    }
}
