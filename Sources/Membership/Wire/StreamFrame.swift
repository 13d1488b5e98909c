/// Messages on a TCP stream (push-pull, the TCP fallback ping and its ack, large user messages, error
/// responses), as memberlist frames them (memberlist `net.go`, `rawSendMsgStream`, `readStream`,
/// `readRemoteState`, `readUserMsg`; `label.go` for the stream label).
///
/// The dialing side first writes the label header once (``labelHeader(_:)``; nothing for the empty label).
/// Each message is then: the message (for a user message: type byte, a msgpack `userMsgHeader{UserMsgLen}`,
/// the bytes) → compressed as a ``Compress`` message when compression is on (always, unlike packets) →
/// with a keyring, `encrypt` (10), a 4-byte big-endian length, and the encrypted payload whose authenticated
/// data is those five bytes followed by the stream label. Plain streams are not length-prefixed: the message
/// ends where its msgpack values (and a push-pull's user state) end, which is why ``decode(_:label:keyring:)``
/// reports "need more bytes" as nil.
public struct StreamFrame: Sendable, Equatable {
    /// memberlist `net.go`, `maxPushStateBytes`: the largest encrypted stream payload accepted.
    public static let maximumEncryptedLength = 20 * 1024 * 1024

    public var label: String
    public var keyring: Keyring?
    public var compress: Bool
    /// memberlist `Config.GossipVerifyIncoming`: refuse a plaintext stream when encryption is on.
    public var verifyIncoming: Bool
    public var encryptionVersion: Keyring.Version

    public init(
        label: String = "", keyring: Keyring? = nil, compress: Bool = true, verifyIncoming: Bool = true,
        encryptionVersion: Keyring.Version = .v1
    ) {
        self.label = label
        self.keyring = keyring
        self.compress = compress
        self.verifyIncoming = verifyIncoming
        self.encryptionVersion = encryptionVersion
    }

    /// The bytes the dialer writes before its first message (memberlist `label.go`, `AddLabelHeaderToStream`).
    public static func labelHeader(_ label: String) -> [UInt8] { PacketFrame.addLabel(label, to: []) }

    /// The encoded stream form of `message`. `nonce` is for tests.
    public func encode(_ message: Message, nonce: [UInt8]? = nil) -> [UInt8] {
        var bytes: [UInt8]
        if case .user(let payload) = message {
            var writer = MessagePackWriter()
            writer.append(contentsOf: [MessageType.user.rawValue])
            writer.writeMapHeader(1)
            writer.writeField("UserMsgLen")
            writer.writeInt(Int64(payload.count))
            writer.append(contentsOf: payload)
            bytes = writer.bytes
        } else {
            bytes = message.encoded()
        }
        if compress { bytes = Message.compress(Compress(buffer: LZW.compress(bytes))).encoded() }
        guard let keyring else { return bytes }
        let length = Keyring.encryptedLength(encryptionVersion, plaintext: bytes.count)
        let header: [UInt8] = [MessageType.encrypt.rawValue] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) }
        return header
            + keyring.encrypt(
                bytes, version: encryptionVersion, authenticatedData: header + Array(label.utf8), nonce: nonce)
    }

    /// Reads one message from the start of `buffer` (after the label header, which the accepting side strips
    /// once per connection with ``PacketFrame/removeLabel(_:)`` — a truncation error there means "read more" —
    /// and checks against ``label``): the message and how many bytes it took, or nil when `buffer` does not hold
    /// all of it yet. At the end of the stream a nil means the stream was truncated.
    public func decode(_ buffer: [UInt8]) throws(WireError) -> (message: Message, consumed: Int)? {
        guard let first = buffer.first else { return nil }
        if first == MessageType.encrypt.rawValue {
            guard let keyring else { throw .decryptionFailed("remote state is encrypted and encryption is not configured") }
            guard buffer.count >= 5 else { return nil }
            let length = buffer[1..<5].reduce(0) { $0 << 8 | Int($1) }
            guard length <= Self.maximumEncryptedLength else {
                throw .tooLarge(what: "encrypted stream payload", length: length, limit: Self.maximumEncryptedLength)
            }
            guard buffer.count >= 5 + length else { return nil }
            let plain = try keyring.decrypt(
                Array(buffer[5..<5 + length]), authenticatedData: Array(buffer[0..<5]) + Array(label.utf8))
            guard let inner = try Self.decodePlain(plain, wholeInput: true) else {
                throw .truncated(what: "encrypted stream message", needed: 1)
            }
            return (inner.message, 5 + length)
        }
        if keyring != nil, verifyIncoming {
            throw .decryptionFailed("encryption is configured but the remote stream is not encrypted")
        }
        return try Self.decodePlain(buffer, wholeInput: false)
    }

    /// A plaintext message, possibly compressed. With `wholeInput`, truncation is an error rather than nil.
    private static func decodePlain(_ buffer: [UInt8], wholeInput: Bool) throws(WireError) -> (message: Message, consumed: Int)? {
        guard let first = buffer.first else { return nil }
        var reader = MessagePackReader(buffer, position: 1)
        do {
            if first == MessageType.compress.rawValue {
                let compressed = try Compress(messagePack: reader.read())
                let consumed = reader.position
                guard let inner = try decodePlain(try compressed.decompressed(), wholeInput: true) else {
                    throw WireError.truncated(what: "compressed stream message", needed: 1)
                }
                return (inner.message, consumed)
            }
            guard let type = MessageType(rawValue: first) else { throw WireError.unknownMessageType(first) }
            switch type {
            case .pushPull:
                let header = try PushPullHeader(messagePack: reader.read())
                guard header.nodes <= PushPull.maximumNodes, header.userStateLength <= PushPull.maximumUserStateLength else {
                    throw WireError.tooLarge(what: "push-pull state", length: header.nodes, limit: PushPull.maximumNodes)
                }
                var states: [PushNodeState] = []
                for _ in 0..<header.nodes {
                    guard !reader.isAtEnd else { throw WireError.truncated(what: "push-pull node state", needed: 1) }
                    states.append(try PushNodeState(messagePack: reader.read()))
                }
                let userState = try reader.readRawBytes(header.userStateLength, what: "push-pull user state")
                return (.pushPull(PushPull(join: header.join, states: states, userState: userState)), reader.position)
            case .user:
                let header = try MessagePackFields(reader.read(), context: "userMsgHeader")
                let length: Int = try header.signed("UserMsgLen")
                guard length >= 0, length <= PushPull.maximumUserStateLength else {
                    throw WireError.tooLarge(what: "stream user message", length: length, limit: PushPull.maximumUserStateLength)
                }
                return (.user(try reader.readRawBytes(length, what: "stream user message")), reader.position)
            case .ping:
                return (.ping(try Ping(messagePack: reader.read())), reader.position)
            case .ackResponse:
                return (.ackResponse(try AckResponse(messagePack: reader.read())), reader.position)
            case .error:
                return (.error(try ErrorResponse(messagePack: reader.read())), reader.position)
            default:
                throw WireError.malformed("message type \(first) is not sent on streams")
            }
        } catch let error as WireError {
            if case .truncated = error, !wholeInput { return nil }
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }
}
