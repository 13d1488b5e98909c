import Testing

@testable import Membership

/// The keyring against AES-GCM outputs computed independently (Python's `cryptography`, the same nonce) and
/// memberlist's rules for keys and rotation.
@Suite struct KeyringTests {
    private let key = Array(0..<16).map(UInt8.init)
    private let nonce = Array(100..<112).map(UInt8.init)
    private let plaintext = Array("hello memberlist".utf8)

    private func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test func version1MatchesAnIndependentAESGCM() throws {
        let ring = try Keyring(keys: [key])
        let expected = hex("016465666768696a6b6c6d6e6f720722c9b422d59ff65c3262eaa35898585a562e9bb94080eef701827bdf0db6")
        #expect(ring.encrypt(plaintext, version: .v1, authenticatedData: Array("lbl".utf8), nonce: nonce) == expected)
        #expect(try ring.decrypt(expected, authenticatedData: Array("lbl".utf8)) == plaintext)
        #expect(throws: WireError.self) { try ring.decrypt(expected) }
        #expect(expected.count == Keyring.encryptedLength(.v1, plaintext: plaintext.count))
    }

    @Test func version0PadsAsPKCS7() throws {
        let ring = try Keyring(keys: [key])
        let expected = hex("006465666768696a6b6c6d6e6f720722c9b422d59ff65c3262eaa35898209868ef82b9cd4ae47fa187ace2e7e33cc9af126c6e35373decab88409f92dc")
        #expect(ring.encrypt(plaintext, version: .paddedV0, nonce: nonce) == expected)
        #expect(try ring.decrypt(expected) == plaintext)
        #expect(expected.count == Keyring.encryptedLength(.paddedV0, plaintext: plaintext.count))
    }

    @Test func anyKeyDecryptsThePrimaryEncrypts() throws {
        let old = Array(repeating: UInt8(1), count: 32)
        let new = Array(repeating: UInt8(2), count: 24)
        var ring = try Keyring(keys: [old])
        let before = ring.encrypt(plaintext)
        try ring.add(new)
        #expect(try ring.decrypt(before) == plaintext)
        try ring.use(new)
        #expect(ring.primaryKey == new)
        let after = ring.encrypt(plaintext)
        #expect(try Keyring(keys: [new]).decrypt(after) == plaintext)
        #expect(throws: WireError.self) { try Keyring(keys: [old]).decrypt(after) }
        #expect(throws: WireError.self) { try ring.remove(new) }
        try ring.remove(old)
        #expect(ring.keys == [new])
        #expect(throws: WireError.self) { try ring.decrypt(before) }
    }

    @Test func keysAndFiles() throws {
        #expect(throws: WireError.invalidKeyLength(15)) { try Keyring(keys: [Array(repeating: 0, count: 15)]) }
        #expect(throws: WireError.self) { try Keyring(keys: []) }
        #expect(throws: WireError.self) { try Keyring.decodeKey(base64: "not base64!") }
        #expect(throws: WireError.invalidKeyLength(3)) { try Keyring.decodeKey(base64: "AQID") }
        let generated = Keyring.generateKey()
        #expect(try Keyring.decodeKey(base64: generated).count == 32)
        #expect(generated != Keyring.generateKey())
        let ring = try Keyring.parseKeyringFile(Array(#"["\#(generated)", "AAAAAAAAAAAAAAAAAAAAAA=="]"#.utf8))
        #expect(ring.keys.count == 2)
        #expect(ring.keys[1] == Array(repeating: 0, count: 16))
        #expect(try Keyring.parseKeyringFile(ring.keyringFile) == ring)
        #expect(throws: WireError.self) { try Keyring.parseKeyringFile(Array("[]".utf8)) }
        #expect(throws: WireError.self) { try Keyring.parseKeyringFile(Array("{}".utf8)) }
        #expect(throws: WireError.self) { try Keyring.parseKeyringFile(Array(#"["AQID"]"#.utf8)) }
    }

    @Test func shortOrForeignPayloadsAreRefused() throws {
        let ring = try Keyring(keys: [key])
        for payload: [UInt8] in [[], [1], [2] + Array(repeating: 0, count: 40), [0] + Array(repeating: 0, count: 40), [1] + Array(repeating: 0, count: 27)] {
            #expect(throws: WireError.self) { try ring.decrypt(payload) }
        }
    }

    @Test func packetAndStreamFramesRoundTrip() throws {
        let ring = try Keyring(keys: [key])
        let message = Message.ping(Ping(seqNo: 1, node: "n")).encoded()
        for label in ["", "cluster-a"] {
            let frame = PacketFrame(label: label, keyring: ring)
            for (compress, checksum) in [(false, false), (true, true), (false, true)] {
                let packet = frame.seal(message, compress: compress, checksum: checksum)
                #expect(PacketContents(try frame.open(packet)).messages == [.ping(Ping(seqNo: 1, node: "n"))])
            }
            #expect(throws: PacketFrame.Drop.self) { try PacketFrame(label: label + "x", keyring: ring).open(frame.seal(message, compress: false, checksum: false)) }
            let stream = StreamFrame(label: label, keyring: ring)
            let pushPull = Message.pushPull(PushPull(join: false, states: [], userState: [9]))
            let bytes = stream.encode(pushPull)
            #expect(try stream.decode(bytes + [1, 2])?.message == pushPull)
            #expect(try stream.decode(bytes + [1, 2])?.consumed == bytes.count)
            #expect(try stream.decode(Array(bytes.dropLast())) == nil)
            #expect(throws: WireError.self) { try StreamFrame(label: label + "x", keyring: ring).decode(bytes) }
        }
        // Plain user messages on streams carry their length.
        let user = StreamFrame(compress: false).encode(.user([1, 2, 3]))
        #expect(try StreamFrame().decode(user)?.message == .user([1, 2, 3]))
        #expect(PacketFrame.addLabel("ab", to: [7]) == [244, 2, 0x61, 0x62, 7])
        #expect(throws: WireError.self) { try PacketFrame.removeLabel([244, 0]) }
        #expect(throws: WireError.self) { try PacketFrame.removeLabel([244, 5, 1]) }
    }
}
