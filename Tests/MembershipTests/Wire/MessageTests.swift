import Testing

@testable import Membership

/// Messages against the bytes go-msgpack v0.5 writes for memberlist's structs (fields sorted by name, old-spec
/// raw strings, smallest unsigned integers, nil for empty `[]byte`).
@Suite struct MessageTests {
    private func raw(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [0xa0 | UInt8(bytes.count)] + bytes
    }

    @Test func pingWithoutSourceOmitsTheSourceFields() throws {
        let ping = Ping(seqNo: 300, node: "a")
        let expected: [UInt8] = [0x00, 0x82] + raw("Node") + raw("a") + raw("SeqNo") + [0xcd, 0x01, 0x2c]
        #expect(Message.ping(ping).encoded() == expected)
        #expect(try Message.decode(expected) == .ping(ping))
    }

    @Test func pingWithSource() throws {
        let ping = Ping(seqNo: 7, node: "b", sourceAddress: [127, 0, 0, 1], sourcePort: 7946, sourceNode: "a")
        let expected: [UInt8] =
            [0x00, 0x85] + raw("Node") + raw("b") + raw("SeqNo") + [0x07] + raw("SourceAddr") + [0xa4, 127, 0, 0, 1]
            + raw("SourceNode") + raw("a") + raw("SourcePort") + [0xcd, 0x1f, 0x0a]
        #expect(Message.ping(ping).encoded() == expected)
        #expect(try Message.decode(expected) == .ping(ping))
    }

    @Test func ackWithoutPayloadWritesNil() throws {
        let expected: [UInt8] = [0x02, 0x82] + raw("Payload") + [0xc0] + raw("SeqNo") + [0xce, 0x00, 0x01, 0x00, 0x00]
        #expect(Message.ackResponse(AckResponse(seqNo: 65536)).encoded() == expected)
        #expect(try Message.decode(expected) == .ackResponse(AckResponse(seqNo: 65536)))
    }

    @Test func aliveFieldsSortedByName() throws {
        let alive = Alive(
            incarnation: 1, node: "n", address: [10, 0, 0, 1], port: 80, meta: [0xff, 0x80],
            versions: [1, 5, 2, 2, 5, 4])
        let expected: [UInt8] =
            [0x04, 0x86] + raw("Addr") + [0xa4, 10, 0, 0, 1] + raw("Incarnation") + [0x01] + raw("Meta")
            + [0xa2, 0xff, 0x80] + raw("Node") + raw("n") + raw("Port") + [0x50] + raw("Vsn") + [0xa6, 1, 5, 2, 2, 5, 4]
        #expect(Message.alive(alive).encoded() == expected)
        #expect(try Message.decode(expected) == .alive(alive))
        #expect(ProtocolVersions(alive.versions)?.delegateCurrent == 4)
    }

    @Test func everyMessageRoundTrips() throws {
        let messages: [Message] = [
            .ping(Ping(seqNo: .max, node: "x", sourceAddress: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], sourcePort: 1, sourceNode: "y")),
            .indirectPing(IndirectPingRequest(seqNo: 9, target: [127, 0, 0, 1], port: 7946, node: "t", nack: true)),
            .indirectPing(IndirectPingRequest(seqNo: 9, target: [127, 0, 0, 1], port: 7946, node: "t", nack: false, sourceAddress: [1, 2, 3, 4], sourcePort: 2, sourceNode: "s")),
            .ackResponse(AckResponse(seqNo: 3, payload: Array(repeating: 7, count: 40))),
            .nackResponse(NackResponse(seqNo: 4)),
            .error(ErrorResponse(error: "boom")),
            .suspect(Suspect(incarnation: 5, node: "n", from: "m")),
            .dead(Dead(incarnation: 6, node: "n", from: "n")),
            .pushPull(PushPull(join: true, states: [
                PushNodeState(name: "a", address: [127, 0, 0, 1], port: 7946, meta: [1], incarnation: 2, state: .left, versions: [1, 5, 2, 2, 5, 4])
            ], userState: [1, 2, 3])),
            .compound(Compound(parts: [[1, 2], [], [3]])),
            .user([1, 0x80, 0xff]),
            .compress(Compress(buffer: [0, 1, 2])),
            .hasCRC(Message.nackResponse(NackResponse(seqNo: 1)).encoded()),
        ]
        for message in messages {
            #expect(try Message.decode(message.encoded()) == message)
        }
    }

    @Test func decodingTakesNewSpecStringsAndUnknownFields() throws {
        // str8 for a key, bin8 for the address, an unknown field and a signed integer for SeqNo.
        let bytes: [UInt8] =
            [0x00, 0x84, 0xd9, 5] + Array("SeqNo".utf8) + [0xd0, 0x05] + raw("Node") + [0xd9, 1, 0x61]
            + raw("SourceAddr") + [0xc4, 4, 1, 2, 3, 4] + raw("Extra") + [0x93, 1, 2, 3]
        #expect(try Message.decode(bytes) == .ping(Ping(seqNo: 5, node: "a", sourceAddress: [1, 2, 3, 4])))
    }

    @Test func wrongTypesAndRangesAreErrors() {
        let negative: [UInt8] = [0x0b, 0x81] + raw("SeqNo") + [0xff]
        #expect(throws: WireError.self) { try Message.decode(negative) }
        let tooWide: [UInt8] = [0x0b, 0x81] + raw("SeqNo") + [0xcf, 1, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: WireError.self) { try Message.decode(tooWide) }
        let notAMap: [UInt8] = [0x0b, 0x91, 0x01]
        #expect(throws: WireError.self) { try Message.decode(notAMap) }
        #expect(throws: WireError.truncated(what: "message type byte", needed: 1)) { try Message.decode([]) }
        #expect(throws: WireError.unknownMessageType(99)) { try Message.decode([99]) }
        #expect(throws: WireError.unknownMessageType(244)) { try Message.decode([244, 0]) }
    }

    @Test func compoundKeepsWhatFitsAndCountsTheRest() throws {
        let compound = try Compound(decoding: [3, 0, 1, 0, 2, 0, 9, 0xaa, 0xbb, 0xcc])
        #expect(compound == Compound(parts: [[0xaa], [0xbb, 0xcc]], truncated: 1))
        #expect(throws: WireError.self) { try Compound(decoding: [2, 0]) }
        let packets = Compound.packets(Array(repeating: [1], count: 256))
        #expect(packets.count == 2)
        #expect(packets[0][1] == 255 && packets[1][1] == 1)
    }

    @Test func crcFrameChecksTheChecksum() throws {
        let inner = Message.nackResponse(NackResponse(seqNo: 1)).encoded()
        var framed = Message.hasCRC(inner).encoded()
        #expect(framed.count == inner.count + 5)
        framed[framed.count - 1] ^= 1
        #expect(throws: WireError.self) { try Message.decode(framed) }
        // The check value of CRC-32/IEEE.
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)
    }

    @Test func pushPullRefusesCountsPastTheInput() {
        var writer = MessagePackWriter()
        PushPullHeader(nodes: 1_000_000, userStateLength: 0, join: false).write(to: &writer)
        #expect(throws: WireError.self) { try PushPull(decoding: writer.bytes) }
        var long = MessagePackWriter()
        PushPullHeader(nodes: 0, userStateLength: 10, join: false).write(to: &long)
        #expect(throws: WireError.self) { try PushPull(decoding: long.bytes + [1, 2]) }
    }
}
