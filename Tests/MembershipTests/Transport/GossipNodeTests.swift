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
