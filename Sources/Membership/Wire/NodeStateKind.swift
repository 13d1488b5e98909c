/// A node's state as push-pull carries it (memberlist `state.go`, `NodeStateType`: `StateAlive`,
/// `StateSuspect`, `StateDead`, `StateLeft`; a Go `int` on the wire).
public enum NodeStateKind: UInt8, Sendable, CaseIterable {
    case alive = 0
    case suspect = 1
    case dead = 2
    case left = 3
}
