import Testing

@testable import Membership

/// Every captured serf packet and stream decodes, and re-encodes to the same bytes where memberlist's output is
/// deterministic (everything but the random nonces of encryption).
@Suite struct CapturedTrafficTests {
    /// Decodes `bytes` as one message, recursing into compounds, compression and CRC frames, and checks that
    /// encoding what was decoded gives `bytes` back (LZW included). Returns the leaf messages.
    @discardableResult
    private func roundTrip(_ bytes: [UInt8], _ name: String) throws -> [Message] {
        let message = try Message.decode(bytes)
        #expect(message.encoded() == bytes, "\(name): \(message.type) re-encodes differently")
        switch message {
        case .compound(let compound):
            #expect(compound.truncated == 0)
            return try compound.parts.flatMap { try roundTrip($0, name) }
        case .compress(let compressed):
            let inner = try compressed.decompressed()
            #expect(LZW.compress(inner) == compressed.buffer, "\(name): LZW output differs from Go's")
            return try roundTrip(inner, name)
        case .hasCRC(let inner):
            return try roundTrip(inner, name)
        default:
            return [message]
        }
    }

    @Test func plainPacketsDecodeAndReencodeByteForByte() throws {
        let captures = try CapturedTraffic.captures("plain").filter { !$0.isStream }
        #expect(captures.count > 20)
        var seen: Set<MessageType> = []
        for capture in captures {
            let opened = try PacketFrame().open(capture.bytes)
            let contents = PacketContents(opened)
            #expect(contents.failures.isEmpty, "\(capture.name): \(contents.failures)")
            #expect(!contents.messages.isEmpty)
            for message in try roundTrip(capture.bytes, capture.name) { seen.insert(message.type) }
            if capture.bytes.first == MessageType.hasCRC.rawValue { seen.insert(.hasCRC) }
        }
        // What two serf agents exchange in a join, a user event, a query and a leave.
        #expect(seen.isSuperset(of: [.ping, .ackResponse, .alive, .dead, .user, .hasCRC]))
    }

    @Test func capturedFieldsAreMemberlists() throws {
        let captures = try CapturedTraffic.captures("plain")
        let alive = try captures.flatMap { PacketContents(try PacketFrame().open($0.bytes)).messages }.compactMap {
            if case .alive(let alive) = $0 { alive } else { nil }
        }
        let alpha = try #require(alive.first { $0.node == "alpha" })
        #expect(alpha.address == [127, 0, 0, 1])
        #expect(alpha.port == 27946)
        #expect(alpha.incarnation == 1)
        // serf 0.9.4 speaks memberlist protocol 2 (understanding 1…5) and delegate protocol 5 (2…5).
        #expect(ProtocolVersions(alpha.versions) == ProtocolVersions(protocolMin: 1, protocolMax: 5, protocolCurrent: 2, delegateMin: 2, delegateMax: 5, delegateCurrent: 5))
        #expect(alpha.meta.first == 0xff)
    }

    @Test func plainStreamsArePushPulls() throws {
        let streams = try CapturedTraffic.captures("plain").filter(\.isStream)
        #expect(streams.count == 2)
        for stream in streams {
            let decoded = try #require(try StreamFrame().decode(stream.bytes))
            #expect(decoded.consumed == stream.bytes.count)
            guard case .pushPull(let pushPull) = decoded.message else {
                Issue.record("\(stream.name): not a push-pull")
                continue
            }
            #expect(pushPull.join)
            #expect(pushPull.states.count == 1)
            #expect(pushPull.userState.first == 2, "serf's push-pull message type")
            #expect(StreamFrame().encode(decoded.message) == stream.bytes, "\(stream.name) re-encodes differently")
            // Every prefix is "need more bytes", never an error.
            for cut in stride(from: 0, to: stream.bytes.count, by: 7) {
                #expect(try StreamFrame().decode(Array(stream.bytes.prefix(cut))) == nil)
            }
        }
    }

    @Test func encryptedPacketsAndStreamsOpenWithTheKey() throws {
        let keyring = try Keyring(keys: [Keyring.decodeKey(base64: CapturedTraffic.key())])
        let captures = try CapturedTraffic.captures("encrypted")
        #expect(captures.count >= 10)
        for capture in captures {
            #expect(capture.bytes.first == (capture.isStream ? MessageType.encrypt.rawValue : 1))
            if capture.isStream {
                let decoded = try #require(try StreamFrame(keyring: keyring).decode(capture.bytes))
                #expect(decoded.consumed == capture.bytes.count)
                guard case .pushPull = decoded.message else {
                    Issue.record("\(capture.name): not a push-pull")
                    continue
                }
            } else {
                let contents = PacketContents(try PacketFrame(keyring: keyring).open(capture.bytes))
                #expect(contents.failures.isEmpty && !contents.messages.isEmpty, "\(capture.name)")
            }
        }
    }

    @Test func encryptedTrafficIsRefusedWithoutTheRightKey() throws {
        let captures = try CapturedTraffic.captures("encrypted")
        let other = try Keyring(keys: [Array(repeating: 7, count: 16)])
        for capture in captures where !capture.isStream {
            #expect(throws: PacketFrame.Drop.self) { try PacketFrame(keyring: other).open(capture.bytes) }
            // Without a keyring the packet is not a memberlist message (version byte 1 reads as an indirect
            // ping that does not decode).
            #expect(!PacketContents(try PacketFrame().open(capture.bytes)).failures.isEmpty)
        }
        for capture in captures where capture.isStream {
            #expect(throws: WireError.self) { try StreamFrame(keyring: other).decode(capture.bytes) }
            #expect(throws: WireError.self) { try StreamFrame().decode(capture.bytes) }
        }
        // And a plaintext packet is dropped when encryption is on.
        let plain = try #require(try CapturedTraffic.captures("plain").first { !$0.isStream })
        #expect(throws: PacketFrame.Drop.self) { try PacketFrame(keyring: other).open(plain.bytes) }
    }
}
