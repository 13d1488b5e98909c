import Foundation
import NIOCore
import NIOPosix
import Testing
import TestSupport

@testable import Membership

/// A ``GossipNode`` speaking serf's layer (``SerfDelegate``) in one cluster with real serf agents on 127.0.0.1.
@Suite(.serialized) struct GossipNodeSerfTests {
    struct Member {
        let node: GossipNode
        let serf: SerfDelegate

        /// serf's graceful leave: the leave intent first, then memberlist's leave.
        func leave() async {
            await node.broadcast(userMessage: serf.leaveIntent(), about: "intent")
            let deadline = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < deadline {
                if await node.userBroadcastSent(about: "intent") { break }
                try? await Task.sleep(for: .milliseconds(50))
            }
            await node.leave(timeout: .seconds(3))
            await node.shutdown()
        }
    }

    static func member(_ name: String, tags: [String: String], keyring: Keyring? = nil) async throws -> Member {
        let serf = try SerfDelegate(name: name, tags: tags)
        let settings = GossipNode.Settings(name: name, bindHost: "127.0.0.1", bindPort: 0, configuration: SWIMConfiguration(profile: .local), meta: serf.meta, keyring: keyring)
        let node = try await GossipNode.start(settings: settings, group: MultiThreadedEventLoopGroup.singleton, delegate: serf) { _ in }
        return Member(node: node, serf: serf)
    }

    static func waitFor(_ what: String, timeout: Duration = .seconds(15), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test func outriderJoinsASerfClusterWithTagsBothWaysAndLeavesAsLeft() async throws {
        let agent = try SerfProcess(name: "serf-a", tags: ["role": "lb", "dc": "eu1"])
        defer { agent.stop() }
        try await Task.sleep(for: .milliseconds(500))
        let member = try await Self.member("outrider-a", tags: ["role": "backend", "apps": "web,api"])
        let target = NodeAddress(host: "127.0.0.1", port: agent.port)
        var joined = 0
        for _ in 0..<20 where joined == 0 {
            joined = await member.node.join([target])
            if joined == 0 { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(joined == 1)
        try await agent.waitFor("outrider alive with its tags") { members in
            members["outrider-a"]?.status == "alive" && members["outrider-a"]?.tags == ["role": "backend", "apps": "web,api"]
        }
        try await Self.waitFor("serf-a alive at outrider") {
            await member.node.members().contains { $0.name == "serf-a" && $0.state == .alive }
        }
        let seen = await member.node.members().first { $0.name == "serf-a" }
        #expect(seen.flatMap { try? SerfTags.decode($0.meta) } == ["role": "lb", "dc": "eu1"])
        await member.leave()
        try await agent.waitFor("outrider left") { $0["outrider-a"]?.status == "left" }
        let log = agent.log
        for complaint in ["Failed to decode", "Remote state", "bad type prefix", "Failed to merge", "Failed to receive"] {
            #expect(!log.contains(complaint), "serf logged '\(complaint)':\n\(log)")
        }
    }

    @Test func serfJoinsOutriderAndReportsAKilledOutriderFailed() async throws {
        let member = try await Self.member("outrider-b", tags: ["role": "backend"])
        let agent = try SerfProcess(name: "serf-b")
        defer { agent.stop() }
        // serf's own join, retried while its RPC listener comes up (an agent started with -join exits when that
        // first attempt fails, as it may on a loaded machine).
        var joinError: (any Error)?
        for _ in 0..<40 {
            do {
                try agent.join(member.node.address.description)
                joinError = nil
                break
            } catch {
                joinError = error
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        if let joinError { Issue.record("serf join: \(joinError)") }
        try await agent.waitFor("outrider alive") { $0["outrider-b"]?.status == "alive" }
        try await Self.waitFor("serf-b alive at outrider") {
            await member.node.members().contains { $0.name == "serf-b" && $0.state == .alive }
        }
        // As kill -9: the sockets close with no word to anyone.
        await member.node.shutdown()
        try await agent.waitFor("outrider failed", timeout: .seconds(20)) { $0["outrider-b"]?.status == "failed" }
    }

    @Test func aKilledSerfAgentIsDeclaredDeadByOutrider() async throws {
        let agent = try SerfProcess(name: "serf-c")
        try await Task.sleep(for: .milliseconds(500))
        let member = try await Self.member("outrider-c", tags: [:])
        #expect(await member.node.join([NodeAddress(host: "127.0.0.1", port: agent.port)]) == 1)
        try await Self.waitFor("serf-c alive") { await member.node.members().contains { $0.name == "serf-c" && $0.state == .alive } }
        agent.kill()
        try await Self.waitFor("serf-c dead", timeout: .seconds(20)) {
            await member.node.members().contains { $0.name == "serf-c" && $0.state == .dead }
        }
        await member.node.shutdown()
        agent.stop()
    }

    @Test func outriderJoinsAnEncryptedSerfCluster() async throws {
        let keyText = "T9jncgl9mbLus+baTTa7q7nPSUrXwbDi2dhbtqir37s="
        let agent = try SerfProcess(name: "serf-d", encryptKey: keyText)
        defer { agent.stop() }
        try await Task.sleep(for: .milliseconds(500))
        let ring = try Keyring(keys: [try Keyring.decodeKey(base64: keyText)])
        let member = try await Self.member("outrider-d", tags: ["k": "v"], keyring: ring)
        #expect(await member.node.join([NodeAddress(host: "127.0.0.1", port: agent.port)]) == 1)
        try await agent.waitFor("encrypted outrider alive") { $0["outrider-d"]?.status == "alive" && $0["outrider-d"]?.tags == ["k": "v"] }
        let plain = try await Self.member("outrider-plain", tags: [:])
        #expect(await plain.node.join([NodeAddress(host: "127.0.0.1", port: agent.port)]) == 0)
        await plain.node.shutdown()
        await member.leave()
        try await agent.waitFor("encrypted outrider left") { $0["outrider-d"]?.status == "left" }
    }
}
