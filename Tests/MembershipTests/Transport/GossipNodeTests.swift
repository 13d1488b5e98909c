import NIOCore
import NIOPosix
import Synchronization
import TestSupport
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

    static func node(
        _ name: String, bindHost: String = "127.0.0.1", advertiseHost: String? = nil, keyring: Keyring? = nil, label: String = "", recorder: Recorder = Recorder()
    ) async throws -> GossipNode {
        var configuration = SWIMConfiguration(profile: .local)
        configuration.probeInterval = .milliseconds(200)
        configuration.probeTimeout = .milliseconds(100)
        configuration.gossipToTheDeadTime = .seconds(30)
        let settings = GossipNode.Settings(
            name: name, bindHost: bindHost, bindPort: 0, advertiseHost: advertiseHost, configuration: configuration, meta: Array(name.utf8), label: label, keyring: keyring)
        return try await GossipNode.start(settings: settings, group: MultiThreadedEventLoopGroup.singleton, delegate: nil) { recorder.record($0) }
    }

    static func state(of name: String, at node: GossipNode) async -> NodeEntry.State? {
        await node.members().first { $0.name == name }?.state
    }

    @Test func twoMembersJoinSeeEachOtherAndDetectACrash() async throws {
        let a = try await Self.node("a")
        let b = try await Self.node("b")
        #expect(await b.join([a.address]) == 1)
        try await waitUntil("both alive") {
            let aAtB = await Self.state(of: "a", at: b)
            let bAtA = await Self.state(of: "b", at: a)
            return aAtB == .alive && bAtA == .alive
        }
        #expect(await a.members().first { $0.name == "b" }?.meta == Array("b".utf8))
        await b.shutdown()
        try await waitUntil("b declared dead by a", timeout: .seconds(15)) { await Self.state(of: "b", at: a) == .dead }
        await a.shutdown()
    }

    /// A send the kernel refuses (EACCES: a datagram to the broadcast address without SO_BROADCAST, as a local
    /// firewall's EPERM would be) costs that datagram only: it is counted as a `send` drop and logged, and the UDP
    /// socket stays open — the same reading channel, still answering probes. (SwiftNIO's own datagram channel
    /// would have closed on it.)
    @Test func aFailedUDPSendKeepsTheSocket() async throws {
        let recorder = Recorder()
        let a = try await Self.node("a", recorder: recorder)
        let b = try await Self.node("b")
        #expect(await b.join([a.address]) == 1)
        try await waitUntil("both alive") {
            let aAtB = await Self.state(of: "a", at: b)
            let bAtA = await Self.state(of: "b", at: a)
            return aAtB == .alive && bAtA == .alive
        }
        let before = try await a.eventLoop.submit { a.udpChannel.map(ObjectIdentifier.init) }.get()
        #expect(before != nil)
        try await a.eventLoop.submit {
            for seq in 1...3 {
                a.sendPacket([.ping(seq: UInt32(seq), target: "nobody", source: a.address, sourceName: "a")], to: NodeAddress(host: "255.255.255.255", port: 9))
            }
        }.get()
        #expect(recorder.drops.filter { $0 == .send }.count == 3)
        // One line for the first failure; the next two fall inside the log interval.
        #expect(recorder.logs.filter { $0.contains("UDP send to 255.255.255.255:9 failed") }.count == 1)
        let after = try await a.eventLoop.submit { a.udpChannel.map(ObjectIdentifier.init) }.get()
        #expect(after == before)
        #expect(try await a.eventLoop.submit { a.udpChannel?.isActive ?? false }.get())
        // b's probes of a keep being answered over UDP, and a's of b: the socket still sends and receives.
        let acked = { recorder.events.withLock { $0.filter { if case .probe(node: "b", acked: true, _) = $0 { true } else { false } }.count } }
        let probes = acked()
        try await waitUntil("a's probes of b answered again") { acked() >= probes + 3 }
        #expect(await Self.state(of: "a", at: b) == .alive)
        #expect(await Self.state(of: "b", at: a) == .alive)
        #expect(!recorder.logs.contains { $0.contains("no longer hears gossip") })
        await b.shutdown()
        await a.shutdown()
    }

    /// The socket is bound by the node itself, for either family: two members on ::1 join and gossip.
    @Test func membersOnIPv6Loopback() async throws {
        let recorder = Recorder()
        let a = try await Self.node("a6", bindHost: "::1", recorder: recorder)
        let b = try await Self.node("b6", bindHost: "::1", recorder: recorder)
        #expect(await b.join([a.address]) == 1)
        try await waitUntil("both alive over IPv6") {
            let aAtB = await Self.state(of: "a6", at: b)
            let bAtA = await Self.state(of: "b6", at: a)
            return aAtB == .alive && bAtA == .alive
        }
        let acked = { recorder.events.withLock { $0.filter { if case .probe(_, acked: true, _) = $0 { true } else { false } }.count } }
        try await waitUntil("probes acked over UDP on ::1") { acked() >= 4 }
        #expect(!recorder.drops.contains(.send))
        await b.shutdown()
        await a.shutdown()
    }

    /// A dual-stack socket on `::` reaches a member on 127.0.0.1 through its IPv4-mapped address.
    @Test func aDualStackMemberReachesAnIPv4One() async throws {
        let recorder = Recorder()
        let v4 = try await Self.node("v4", recorder: recorder)
        let dual = try await Self.node("dual", bindHost: "::", advertiseHost: "127.0.0.1", recorder: recorder)
        #expect(await dual.join([v4.address]) == 1)
        try await waitUntil("both alive") {
            let atDual = await Self.state(of: "v4", at: dual)
            let atV4 = await Self.state(of: "dual", at: v4)
            return atDual == .alive && atV4 == .alive
        }
        let acked = { recorder.events.withLock { $0.filter { if case .probe(node: "v4", acked: true, _) = $0 { true } else { false } }.count } }
        try await waitUntil("the dual-stack member's probes of the IPv4 one acked") { acked() >= 3 }
        #expect(!recorder.drops.contains(.send))
        await dual.shutdown()
        await v4.shutdown()
    }

    @Test func aLeaveIsRecordedAsLeft() async throws {
        let a = try await Self.node("a")
        let b = try await Self.node("b")
        #expect(await b.join([a.address]) == 1)
        try await waitUntil("a sees b") { await Self.state(of: "b", at: a) == .alive }
        await b.leave(timeout: .seconds(3))
        try await waitUntil("b left") { await Self.state(of: "b", at: a) == .left }
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
        try await waitUntil("encrypted pair alive") {
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
