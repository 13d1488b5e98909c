/// One memberlist message: its type byte (``MessageType``) and what follows it (memberlist `net.go`,
/// `handleCommand` for packets, `handleConn`/`readStream` for streams).
///
/// The framing layers that wrap a packet before its messages are read — label, encryption, has-CRC — are
/// ``PacketFrame``'s; this covers what `handleCommand` dispatches on, plus push-pull and error from streams.
/// ``hasCRC(_:)`` is here too because memberlist reads it as a message type byte (`ingestPacket`).
public enum Message: Sendable, Equatable {
    case ping(Ping)
    case indirectPing(IndirectPingRequest)
    case ackResponse(AckResponse)
    case nackResponse(NackResponse)
    case error(ErrorResponse)
    case suspect(Suspect)
    case alive(Alive)
    case dead(Dead)
    case pushPull(PushPull)
    case compound(Compound)
    /// The delegate's message, unframed: serf's message type byte and its msgpack (memberlist `net.go`, `userMsg`
    /// on packets; `handleUser` passes the bytes after the type byte to `NotifyMsg`).
    case user([UInt8])
    /// A compressed message; ``Compress/decompressed()`` gives the bytes of the message inside.
    case compress(Compress)
    /// A message whose CRC-32 (the four big-endian bytes after the type) matched; the payload is the message
    /// inside, undecoded. Encoding computes the checksum.
    case hasCRC([UInt8])

    public var type: MessageType {
        switch self {
        case .ping: .ping
        case .indirectPing: .indirectPing
        case .ackResponse: .ackResponse
        case .nackResponse: .nackResponse
        case .error: .error
        case .suspect: .suspect
        case .alive: .alive
        case .dead: .dead
        case .pushPull: .pushPull
        case .compound: .compound
        case .user: .user
        case .compress: .compress
        case .hasCRC: .hasCRC
        }
    }

    /// Reads one message: the type byte, then its body, which must fill the rest of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Message {
        guard let first = bytes.first else { throw .truncated(what: "message type byte", needed: 1) }
        guard let type = MessageType(rawValue: first) else { throw .unknownMessageType(first) }
        let body = Array(bytes.dropFirst())
        switch type {
        case .ping: return .ping(try Ping(decoding: body))
        case .indirectPing: return .indirectPing(try IndirectPingRequest(decoding: body))
        case .ackResponse: return .ackResponse(try AckResponse(decoding: body))
        case .nackResponse: return .nackResponse(try NackResponse(decoding: body))
        case .error: return .error(try ErrorResponse(decoding: body))
        case .suspect: return .suspect(try Suspect(decoding: body))
        case .alive: return .alive(try Alive(decoding: body))
        case .dead: return .dead(try Dead(decoding: body))
        case .pushPull: return .pushPull(try PushPull(decoding: body))
        case .compound: return .compound(try Compound(decoding: body))
        case .user: return .user(body)
        case .compress: return .compress(try Compress(decoding: body))
        case .hasCRC:
            guard body.count >= 4 else { throw .truncated(what: "CRC32", needed: 4 - body.count) }
            let expected = body.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let payload = Array(body.dropFirst(4))
            let actual = CRC32.checksum(payload)
            guard actual == expected else { throw .checksumMismatch(expected: expected, actual: actual) }
            return .hasCRC(payload)
        case .encrypt, .hasLabel: throw .unknownMessageType(first)
        }
    }

    /// The type byte and the body, as memberlist's `encode` writes them (`util.go`).
    public func encoded() -> [UInt8] {
        var writer = MessagePackWriter()
        writer.append(contentsOf: [type.rawValue])
        switch self {
        case .ping(let body): body.write(to: &writer)
        case .indirectPing(let body): body.write(to: &writer)
        case .ackResponse(let body): body.write(to: &writer)
        case .nackResponse(let body): body.write(to: &writer)
        case .error(let body): body.write(to: &writer)
        case .suspect(let body): body.write(to: &writer)
        case .alive(let body): body.write(to: &writer)
        case .dead(let body): body.write(to: &writer)
        case .pushPull(let body): body.write(to: &writer)
        case .compound(let body): body.write(to: &writer)
        case .user(let payload): writer.append(contentsOf: payload)
        case .compress(let body): body.write(to: &writer)
        case .hasCRC(let payload):
            let crc = CRC32.checksum(payload)
            writer.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) })
            writer.append(contentsOf: payload)
        }
        return writer.bytes
    }
}
