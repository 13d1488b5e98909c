/// What the layer above memberlist (serf's, for outrider) contributes to a ``GossipNode``: the user state sent in
/// each push-pull and what to do with a peer's, and the user messages received (memberlist `delegate.go`:
/// `LocalState`, `MergeRemoteState`, `NotifyMsg`). Called on the node's event loop.
public protocol GossipDelegate: Sendable {
    func localState(join: Bool) -> [UInt8]
    func mergeRemoteState(_ state: [UInt8], join: Bool)
    /// A user message (its bytes after memberlist's `user` type byte); returns messages to broadcast in turn,
    /// each with the name that a newer one about the same thing replaces.
    func receive(userMessage: [UInt8]) -> [(message: [UInt8], about: String)]
}
