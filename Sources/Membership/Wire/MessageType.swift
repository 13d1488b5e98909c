/// The first byte of every memberlist message (memberlist `net.go`, `messageType`; append-only, the values are
/// the protocol). ``hasLabel`` is deliberately high so that it cannot be mistaken for an encryption version
/// (0 or 1) or a message type (memberlist `net.go`, `hasLabelMsg`).
public enum MessageType: UInt8, Sendable, CaseIterable {
    case ping = 0
    case indirectPing = 1
    case ackResponse = 2
    case suspect = 3
    case alive = 4
    case dead = 5
    case pushPull = 6
    case compound = 7
    case user = 8
    case compress = 9
    case encrypt = 10
    case nackResponse = 11
    case hasCRC = 12
    case error = 13
    case hasLabel = 244
}
