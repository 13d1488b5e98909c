import Foundation
import Testing

@testable import Membership

/// A real serf 0.9.4 agent takes a push-pull join written here — plain and encrypted — answers with its own
/// state, lists the pushed node with its tags, and logs no decode error.
@Suite struct SerfInteropTests {
    @Test(arguments: [false, true])
    func serfAcceptsOurPushPullJoin(encrypted: Bool) async throws {
        let key = Keyring.generateKey()
        let agent = try SerfAgent(name: "serf-\(encrypted ? "enc" : "plain")", extraArguments: encrypted ? ["-encrypt", key] : [])
        let keyring = encrypted ? try Keyring(keys: [Keyring.decodeKey(base64: key)]) : nil
        var layer = try SerfLayer(nodeName: "outrider-wire", tags: ["role": "wire-test", "dc": "eu1"])
        _ = layer.joinIntent()
        let local = PushNodeState(
            name: "outrider-wire", address: [127, 0, 0, 1], port: 9, meta: layer.meta, incarnation: 1, state: .alive,
            versions: [1, 5, 2, 2, 5, 5])
        let frame = StreamFrame(keyring: keyring)
        let connection = try await agent.connect()
        connection.send(frame.encode(.pushPull(PushPull(join: true, states: [local], userState: layer.localState()))))
        let reply = try connection.receive { try frame.decode($0) != nil }
        let decoded = try #require(try frame.decode(reply), "no push-pull reply; serf log: \(agent.logText)")
        guard case .pushPull(let remote) = decoded.message else {
            Issue.record("serf answered \(decoded.message.type)")
            return
        }
        let serfNode = try #require(remote.states.first { $0.name == agent.name })
        #expect(try SerfTags.decode(serfNode.meta)["role"] == "serf-test")
        try layer.mergeRemoteState(remote.userState)
        #expect(layer.statusTimes[agent.name] != nil)

        var members = ""
        for _ in 0..<40 {
            members = try agent.members()
            if members.contains("outrider-wire") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let line = try #require(members.split(separator: "\n").first { $0.hasPrefix("outrider-wire") }, "serf members: \(members)")
        #expect(line.contains("127.0.0.1:9"))
        #expect(line.contains("role=wire-test") && line.contains("dc=eu1"))
        #expect(!agent.logText.contains("[ERR]"), "serf logged an error: \(agent.logText)")
    }

    @Test(arguments: [false, true])
    func serfAnswersOurPing(encrypted: Bool) async throws {
        let key = Keyring.generateKey()
        let agent = try SerfAgent(name: "serf-ping-\(encrypted)", extraArguments: encrypted ? ["-encrypt", key] : [])
        let frame = PacketFrame(keyring: encrypted ? try Keyring(keys: [Keyring.decodeKey(base64: key)]) : nil)
        _ = try await agent.connect()
        let socket = try UDPSocket()
        let ping = Ping(seqNo: 42, node: agent.name, sourceAddress: [127, 0, 0, 1], sourcePort: socket.port, sourceNode: "outrider-wire")
        var acks: [AckResponse] = []
        for attempt in 0..<10 where acks.isEmpty {
            // Plain, then compressed and CRC-framed, as memberlist sends to peers of protocol 5.
            socket.send(frame.seal(Message.ping(ping).encoded(), compress: attempt % 2 == 1, checksum: attempt % 2 == 1), to: agent.bindPort)
            while let packet = socket.receive() {
                for case .ackResponse(let ack) in PacketContents(try frame.open(packet)).messages { acks.append(ack) }
            }
        }
        let ack = try #require(acks.first, "no ack; serf log: \(agent.logText)")
        #expect(ack.seqNo == 42)
        // serf's ping delegate answers with its network coordinate: version byte 1, then msgpack.
        #expect(ack.payload.first == 1)
        #expect(!agent.logText.contains("[ERR]"), "serf logged an error: \(agent.logText)")
    }

    @Test func serfRefusesPlaintextWhenEncrypted() async throws {
        let key = Keyring.generateKey()
        let agent = try SerfAgent(name: "serf-refuses", extraArguments: ["-encrypt", key])
        let connection = try await agent.connect()
        let layer = try SerfLayer(nodeName: "outrider-wire", tags: [:])
        let local = PushNodeState(name: "outrider-wire", address: [127, 0, 0, 1], port: 9, meta: layer.meta, incarnation: 1, state: .alive, versions: [1, 5, 2, 2, 5, 5])
        connection.send(StreamFrame().encode(.pushPull(PushPull(join: true, states: [local], userState: layer.localState()))))
        // serf answers with an encrypted memberlist error response and closes.
        let frame = StreamFrame(keyring: try Keyring(keys: [Keyring.decodeKey(base64: key)]))
        let reply = try connection.receive { try frame.decode($0) != nil }
        guard case .error(let error)? = try frame.decode(reply)?.message else {
            Issue.record("serf did not answer with an error: \(reply)")
            return
        }
        #expect(error.error.contains("not encrypted"))
        #expect(!(try agent.members()).contains("outrider-wire"))
    }
}
