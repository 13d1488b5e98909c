/// The layers around a UDP packet's messages, in memberlist's order (memberlist `net.go`).
///
/// Sending (`rawSendMsgPacket`, then the transport): the message (or compound) → LZW-compressed when that is
/// smaller and compression is on → a has-CRC frame when the peer's protocol maximum is 5 or more → encrypted
/// with the primary key, the label as authenticated data → the label header (`label.go`,
/// `AddLabelHeaderToPacket`). Receiving (`ingestPacket`) undoes them in reverse: the label must equal ours
/// (a packet without one has the empty label); with encryption on, a packet that does not decrypt is dropped
/// unless incoming verification is off, when it is read as plaintext (`GossipVerifyIncoming`); then the CRC,
/// when present, must match.
public struct PacketFrame: Sendable, Equatable {
    /// memberlist `label.go`, `LabelMaxSize`.
    public static let maximumLabelLength = 255

    /// Why a packet was dropped before its messages were read; the cases are the `reason` label of the
    /// dropped-packets metric.
    public enum Drop: Error, Equatable, Sendable, CustomStringConvertible {
        case label(String)
        case decrypt(WireError)
        case checksum(WireError)

        public var description: String {
            switch self {
            case .label(let reason): reason
            case .decrypt(let error): "\(error)"
            case .checksum(let error): "\(error)"
            }
        }
    }

    public var label: String
    public var keyring: Keyring?
    /// memberlist `Config.GossipVerifyIncoming`: refuse packets that are not encrypted (true by default).
    public var verifyIncoming: Bool
    /// memberlist `Config.GossipVerifyOutgoing`: encrypt what is sent (true by default).
    public var verifyOutgoing: Bool
    public var encryptionVersion: Keyring.Version

    public init(
        label: String = "", keyring: Keyring? = nil, verifyIncoming: Bool = true, verifyOutgoing: Bool = true,
        encryptionVersion: Keyring.Version = .v1
    ) {
        self.label = label
        self.keyring = keyring
        self.verifyIncoming = verifyIncoming
        self.verifyOutgoing = verifyOutgoing
        self.encryptionVersion = encryptionVersion
    }

    /// The message bytes inside `packet` (for ``Message/decode(_:)``), or why it is dropped.
    public func open(_ packet: [UInt8]) throws(Drop) -> [UInt8] {
        let (packetLabel, rest): (String, [UInt8])
        do { (packetLabel, rest) = try Self.removeLabel(packet) } catch { throw .label("\(error)") }
        guard packetLabel == label else { throw .label("unacceptable packet label \"\(packetLabel)\"") }
        var plain = rest
        if let keyring {
            do {
                plain = try keyring.decrypt(rest, authenticatedData: Array(label.utf8))
            } catch {
                if verifyIncoming { throw .decrypt(error) }
            }
        }
        if plain.count >= 5, plain[0] == MessageType.hasCRC.rawValue {
            do {
                guard case .hasCRC(let inner) = try Message.decode(plain) else { return plain }
                return inner
            } catch { throw .checksum(error) }
        }
        return plain
    }

    /// Frames an encoded message (or compound) for sending. `compress` is memberlist's `EnableCompression`
    /// (kept only when smaller); `checksum` is for peers whose protocol maximum is at least 5. `nonce` is for
    /// tests.
    public func seal(_ message: [UInt8], compress: Bool, checksum: Bool, nonce: [UInt8]? = nil) -> [UInt8] {
        var packet = message
        if compress {
            let compressed = Message.compress(Compress(buffer: LZW.compress(message))).encoded()
            if compressed.count < packet.count { packet = compressed }
        }
        if checksum { packet = Message.hasCRC(packet).encoded() }
        if let keyring, verifyOutgoing {
            packet = keyring.encrypt(
                packet, version: encryptionVersion, authenticatedData: Array(label.utf8), nonce: nonce)
        }
        return Self.addLabel(label, to: packet)
    }

    /// memberlist `label.go`, `RemoveLabelHeaderFromPacket`: `hasLabel`, a length byte (1…255), the label.
    public static func removeLabel(_ packet: [UInt8]) throws(WireError) -> (label: String, rest: [UInt8]) {
        guard packet.first == MessageType.hasLabel.rawValue else { return ("", packet) }
        guard packet.count >= 2 else { throw .truncated(what: "label header", needed: 1) }
        let size = Int(packet[1])
        guard size >= 1 else { throw .malformed("label header cannot be empty when present") }
        guard packet.count >= 2 + size else { throw .truncated(what: "label", needed: 2 + size - packet.count) }
        return (String(decoding: packet[2..<2 + size], as: UTF8.self), Array(packet[(2 + size)...]))
    }

    /// memberlist `label.go`, `AddLabelHeaderToPacket` (no header for the empty label). Labels longer than
    /// ``maximumLabelLength`` bytes are a configuration error the caller reports; here they are cut.
    public static func addLabel(_ label: String, to packet: [UInt8]) -> [UInt8] {
        let bytes = Array(label.utf8.prefix(maximumLabelLength))
        guard !bytes.isEmpty else { return packet }
        return [MessageType.hasLabel.rawValue, UInt8(bytes.count)] + bytes + packet
    }
}
