/// A whole push-pull message as it travels on a stream after its type byte (memberlist `net.go`,
/// `sendLocalState` / `readRemoteState`): the ``PushPullHeader``, `header.nodes` ``PushNodeState`` values, then
/// `header.userStateLength` raw bytes of the delegate's state (serf's `messagePushPull`, itself prefixed by
/// serf's message type byte).
public struct PushPull: Sendable, Equatable {
    /// memberlist `net.go`, `maxPushStateNodes`.
    public static let maximumNodes = 1024 * 1024
    /// memberlist `net.go`, `maxPushStateBytes`.
    public static let maximumUserStateLength = 20 * 1024 * 1024

    public var join: Bool
    public var states: [PushNodeState]
    public var userState: [UInt8]

    public init(join: Bool, states: [PushNodeState], userState: [UInt8]) {
        self.join = join
        self.states = states
        self.userState = userState
    }

    public var header: PushPullHeader {
        PushPullHeader(nodes: states.count, userStateLength: userState.count, join: join)
    }

    /// Reads the body after the type byte. Counts and lengths are checked against the bytes present before
    /// anything is allocated for them; bytes after the user state are an error.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = MessagePackReader(bytes)
        let header = try PushPullHeader(messagePack: reader.read())
        guard header.nodes <= Self.maximumNodes, header.nodes <= reader.remaining else {
            throw .tooLarge(what: "push-pull node count", length: header.nodes, limit: min(Self.maximumNodes, reader.remaining))
        }
        guard header.userStateLength <= Self.maximumUserStateLength else {
            throw .tooLarge(what: "push-pull user state", length: header.userStateLength, limit: Self.maximumUserStateLength)
        }
        var states: [PushNodeState] = []
        states.reserveCapacity(header.nodes)
        for _ in 0..<header.nodes { states.append(try PushNodeState(messagePack: reader.read())) }
        let userState = try reader.readRawBytes(header.userStateLength, what: "push-pull user state")
        guard reader.isAtEnd else { throw .trailingBytes(reader.remaining) }
        self.init(join: header.join, states: states, userState: userState)
    }

    public func write(to writer: inout MessagePackWriter) {
        header.write(to: &writer)
        for state in states { state.write(to: &writer) }
        writer.append(contentsOf: userState)
    }
}
