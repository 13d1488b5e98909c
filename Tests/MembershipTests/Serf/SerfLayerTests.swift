import Testing

@testable import Membership

/// serf's layer against the serf messages captured from serf 0.9.4, and the intent rules of serf.go.
@Suite struct SerfLayerTests {
    /// Every serf message inside the captured user messages and push-pull states.
    private func capturedSerfMessages() throws -> [[UInt8]] {
        var found: [[UInt8]] = []
        for capture in try CapturedTraffic.captures("plain") {
            if capture.isStream {
                guard case .pushPull(let pushPull)? = try StreamFrame().decode(capture.bytes)?.message else { continue }
                found.append(pushPull.userState)
            } else {
                for case .user(let bytes) in PacketContents(try PacketFrame().open(capture.bytes)).messages {
                    found.append(bytes)
                }
            }
        }
        return found
    }

    @Test func capturedSerfMessagesDecode() throws {
        let messages = try capturedSerfMessages()
        var kinds: Set<UInt8> = []
        for bytes in messages {
            let message = try SerfMessage.decode(bytes)
            kinds.insert(bytes[0])
            switch message {
            case .join, .leave, .userEvent, .query, .other:
                #expect(message.encoded() == bytes, "serf type \(bytes[0]) re-encodes differently")
            case .pushPull(let state):
                #expect(state.lamportTime == 1 && state.eventTime == 1 && state.queryTime == 1)
                #expect(state.statusTimes.count == 1)
                #expect(try SerfMessage.decode(message.encoded()) == message)
            }
        }
        // join, leave, push-pull, user event, query, query response
        #expect(kinds == [0, 1, 2, 3, 4, 5])
        let leave = try #require(messages.compactMap { if case .leave(let leave) = try? SerfMessage.decode($0) { leave } else { nil } }.first)
        #expect(leave == SerfLeave(lamportTime: 2, node: "beta"))
    }

    @Test func capturedTagsDecode() throws {
        let alive = try CapturedTraffic.captures("plain").flatMap { PacketContents(try PacketFrame().open($0.bytes)).messages }
            .compactMap { if case .alive(let alive) = $0 { alive } else { nil } }
        let alpha = try #require(alive.first { $0.node == "alpha" })
        let beta = try #require(alive.first { $0.node == "beta" })
        #expect(try SerfTags.decode(alpha.meta) == ["role": "lb", "dc": "eu1"])
        #expect(try SerfTags.decode(beta.meta) == ["role": "backend"])
        // One tag has one encoding: serf's bytes exactly.
        #expect(try SerfTags.encode(["role": "backend"]) == beta.meta)
        #expect(try SerfTags.decode(Array("web".utf8)) == ["role": "web"])
    }

    @Test func tagsOverTheMetadataLimitAreRefused() {
        #expect(throws: WireError.self) { try SerfTags.encode(["big": String(repeating: "x", count: 600)]) }
        #expect(throws: WireError.self) { try SerfLayer(nodeName: "n", tags: ["big": String(repeating: "x", count: 600)]) }
        #expect(throws: Never.self) { try SerfTags.encode(["a": String(repeating: "x", count: 400)]) }
    }

    @Test func joinThenLeaveAsSerfDoes() throws {
        // serf 0.9.4 on the wire: join intent at LTime 1, leave intent at LTime 2.
        var layer = try SerfLayer(nodeName: "beta", tags: ["role": "backend"])
        #expect(layer.joinIntent() == SerfMessage.join(SerfJoin(lamportTime: 1, node: "beta")).encoded())
        #expect(layer.leaveIntent() == SerfMessage.leave(SerfLeave(lamportTime: 2, node: "beta")).encoded())
        #expect(layer.clock == 3)
        #expect(layer.hasLeft("beta"))
    }

    @Test func intentsAreOrderedByLamportTime() throws {
        var layer = try SerfLayer(nodeName: "a", tags: [:])
        _ = layer.joinIntent()
        let join = SerfMessage.join(SerfJoin(lamportTime: 5, node: "b")).encoded()
        #expect(try layer.receive(join) == .rebroadcast)
        #expect(try layer.receive(join) == .none)
        #expect(layer.clock == 6)
        #expect(try layer.receive(SerfMessage.leave(SerfLeave(lamportTime: 4, node: "b")).encoded()) == .none)
        #expect(!layer.hasLeft("b"))
        #expect(try layer.receive(SerfMessage.leave(SerfLeave(lamportTime: 7, node: "b")).encoded()) == .rebroadcast)
        #expect(layer.hasLeft("b"))
        // A rejoin with a newer time clears the leave.
        #expect(try layer.receive(SerfMessage.join(SerfJoin(lamportTime: 9, node: "b")).encoded()) == .rebroadcast)
        #expect(!layer.hasLeft("b"))
        // A leave intent about this node while alive is refuted with a newer join intent.
        guard case .broadcast(let refutation) = try layer.receive(SerfMessage.leave(SerfLeave(lamportTime: 20, node: "a")).encoded()) else {
            Issue.record("no refutation")
            return
        }
        guard case .join(let rejoin) = try SerfMessage.decode(refutation) else {
            Issue.record("refutation is not a join")
            return
        }
        #expect(rejoin.lamportTime > 20)
        // Events and queries only move their clocks.
        #expect(try layer.receive(SerfMessage.userEvent(SerfUserEvent(lamportTime: 30, name: "deploy", payload: [], canCoalesce: true)).encoded()) == .none)
        #expect(layer.eventClock == 31)
        #expect(throws: WireError.self) { try layer.receive([]) }
        #expect(throws: WireError.self) { try layer.receive([200]) }
    }

    @Test func pushPullStateRoundTripsAndMerges() throws {
        var a = try SerfLayer(nodeName: "a", tags: ["role": "lb"])
        _ = a.joinIntent()
        var b = try SerfLayer(nodeName: "b", tags: [:])
        _ = b.joinIntent()
        _ = try b.receive(SerfMessage.join(SerfJoin(lamportTime: 10, node: "c")).encoded())
        _ = try b.receive(SerfMessage.leave(SerfLeave(lamportTime: 12, node: "c")).encoded())
        try a.mergeRemoteState(b.localState())
        #expect(a.hasLeft("c"))
        #expect(a.statusTimes["b"] == 1)
        #expect(a.clock >= 13)
        try a.mergeRemoteState([])
        #expect(throws: WireError.self) { try a.mergeRemoteState(SerfMessage.join(SerfJoin(lamportTime: 1, node: "x")).encoded()) }
        // The captured serf state merges too.
        for bytes in try capturedSerfMessages() where bytes.first == 2 { try a.mergeRemoteState(bytes) }
        #expect(a.statusTimes["alpha"] == 0 && a.statusTimes["beta"] == 0)
    }
}
