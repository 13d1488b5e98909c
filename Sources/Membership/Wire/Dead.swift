/// Broadcast when `from` declares `node` dead at `incarnation` (memberlist `net.go`, `dead`). A member leaving
/// gracefully broadcasts it about itself, `from == node`, which its peers record as `left` rather than dead
/// (memberlist `state.go`, `deadNode`).
public struct Dead: MessageBody {
    public static let goName = "dead"
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

    /// A graceful leave: the node declares itself dead.
    public var isLeave: Bool { node == from }

    public func write(to writer: inout MessagePackWriter) {
        writeIncarnationNodeFrom(incarnation, node, from, to: &writer)
    }
}
