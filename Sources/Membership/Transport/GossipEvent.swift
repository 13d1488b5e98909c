/// What a ``GossipNode`` reports as it runs: membership changes for the view, and the counts behind the gossip
/// metrics. Delivered on the node's event loop; the observer must not block.
public enum GossipEvent: Sendable {
    public enum Direction: String, Sendable {
        case sent, received
    }

    public enum DropReason: String, Sendable {
        case decrypt, decode, label
        case tooLarge = "too_large"
        /// A datagram the kernel refused to send (`sendto` failed: EPERM, ENOBUFS, EAGAIN, ENETUNREACH, ...).
        case send
    }

    /// A member appeared or changed state, address or metadata.
    case changed(NodeEntry)
    /// A member reaped from the table after it was dead or gone long enough.
    case removed(NodeEntry)
    case message(type: String, direction: Direction)
    case bytes(Int, direction: Direction)
    case dropped(DropReason, detail: String)
    case probe(node: String, acked: Bool, seconds: Double)
    case suspected(node: String)
    case conflict(name: String, existing: NodeAddress, claimed: NodeAddress)
    case healthScore(Int)
    /// Something a human reading the log should know (a refused conflict, a refutation, a failed push-pull).
    case log(level: LogLevel, String)

    public enum LogLevel: String, Sendable {
        case debug, info, warning, error
    }
}
