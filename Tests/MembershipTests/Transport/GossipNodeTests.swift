import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Membership

/// Two or more ``GossipNode``s on 127.0.0.1 speaking memberlist's protocol to each other over real sockets.
@Suite struct GossipNodeTests {
    final class Recorder: Sendable {
        let events = Mutex<[GossipEvent]>([])
        func record(_ event: GossipEvent) { events.withLock { $0.append(event) } }
        var logs: [String] {
            events.withLock { $0.compactMap { if case .log(_, let text) = $0 { text } else { nil } } }
        }
        var drops: [GossipEvent.DropReason] {
            events.withLock { $0.compactMap { if case .dropped(let reason, _) = $0 { reason } else { nil } } }
        }
    }

    static func node(_ name: String, keyring: Keyring? = nil, label: String = "", recorder: Recorder = Recorder()) async throws -> GossipNode {
        var configuration = SWIMConfiguration(profile: .local)
        configuration.probeInterval = .milliseconds(200)
        configuration.probeTimeout = .milliseconds(100)
        configuration.gossipToTheDeadTime = .seconds(30)
        let settings = GossipNode.Settings(name: name, bindHost: "127.0.0.1", bindPort: 0, configuration: configuration, meta: Array(name.utf8), label: label, keyring: keyring)
        return try await GossipNode.start(settings: settings, group: MultiThreadedEventLoopGroup.singleton, delegate: nil) { recorder.record($0) }
    }

    static func waitFor(_ what: String, timeout: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
    }

    static func state(of name: String, at node: GossipNode) async -> NodeEntry.State? {
        await node.members().first { $0.name == name }?.state
    }

    @Test func twoMembersJoinSeeEachOtherAndDetectACrash() async throws {
        let a = try await Self.node("a")
        let b = try await Self.node("b")
        #expect(await b.join([a.address]) == 1)
        try await Self.waitFor("both alive") {
            let aAtB = await Self.state(of: "a", at: b)
            let bAtA = await Self.state(of: "b", at: a)
            return aAtB == .alive && bAtA == .alive
        }
        #expect(await a.members().first { $0.name == "b" }?.meta == Array("b".utf8))
        await b.shutdown()
        try await Self.waitFor("b declared dead by a", timeout: .seconds(15)) { await Self.state(of: "b", at: a) == .dead }
        await a.shutdown()
    }

    /// SwiftNIO closes a datagram channel on a send error such as EACCES (a datagram to the broadcast address
    /// without SO_BROADCAST, as a local firewall's EPERM would): the node binds its UDP socket again and goes on
    /// gossiping, instead of going deaf and being declared failed by the others.
    @Test func aUDPSocketClosedByASendErrorIsBoundAgain() async throws {
        let recorder = Recorder()
        let a = try await Self.node("a", recorder: recorder)
        let b = try await Self.node("b")
        #expect(await b.join([a.address]) == 1)
        try await Self.waitFor("both alive") {
            let aAtB = await Self.state(of: "a", at: b)
            let bAtA = await Self.state(of: "b", at: a)
            return aAtB == .alive && bAtA == .alive
        }
        try await a.eventLoop.submit {
            a.sendPacket([.ping(seq: 1, target: "nobody", source: a.address, sourceName: "a")], to: NodeAddress(host: "255.255.255.255", port: 9))
        }.get()
        try await Self.waitFor("the socket closed and bound again") {
            let logs = recorder.logs
            return logs.contains { $0.contains("closed after a send error") } && logs.contains { $0.contains("bound again") }
        }
        // b's probes of a keep being answered over UDP: a stays alive at b, and b at a, through rounds of probes.
        let acked = { recorder.events.withLock { $0.filter { if case .probe(node: "b", acked: true, _) = $0 { true } else { false } }.count } }
        let before = acked()
        try await Self.waitFor("a's probes of b answered again") { acked() >= before + 3 }
        #expect(await Self.state(of: "a", at: b) == .alive)
        #expect(await Self.state(of: "b", at: a) == .alive)
        await b.shutdown()
        await a.shutdown()
    }

    @Test func aLeaveIsRecordedAsLeft() async throws {
        let a = try await Self.node("a")
        let b = try await Self.node("b")
        #expect(await b.join([a.address]) == 1)
        try await Self.waitFor("a sees b") { await Self.state(of: "b", at: a) == .alive }
        await b.leave(timeout: .seconds(3))
        try await Self.waitFor("b left") { await Self.state(of: "b", at: a) == .left }
        await b.shutdown()
        await a.shutdown()
    }

    @Test func anEncryptedClusterRefusesPlaintextAndWrongKeys() async throws {
        let key = Array(repeating: UInt8(7), count: 32)
        let ring = try Keyring(keys: [key])
        let recorder = Recorder()
        let a = try await Self.node("a", keyring: ring, recorder: recorder)
        let b = try await Self.node("b", keyring: ring)
        #expect(await b.join([a.address]) == 1)
        try await Self.waitFor("encrypted pair alive") {
            let aAtB = await Self.state(of: "a", at: b)
            let bAtA = await Self.state(of: "b", at: a)
            return aAtB == .alive && bAtA == .alive
        }
        let plain = try await Self.node("plain")
        #expect(await plain.join([a.address]) == 0)
        let wrong = try await Self.node("wrong", keyring: try Keyring(keys: [Array(repeating: UInt8(9), count: 16)]))
        #expect(await wrong.join([a.address]) == 0)
        #expect(await a.members().count == 2)
        #expect(recorder.drops.contains(.decrypt))
        for node in [a, b, plain, wrong] { await node.shutdown() }
    }
}
