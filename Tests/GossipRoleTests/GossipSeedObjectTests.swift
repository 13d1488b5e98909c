import CoreMetrics
import Foundation
import Logging
import Synchronization
import Membership
import MetricsTestKit
import NIOCore
import NIOPosix
import ObjectStore
import Plugins
import TestSupport
import Testing

@testable import GossipRole

/// Seed sources on loopback: a file and a DNS name (`localhost`) lead to a join, and the S3 seed object on the
/// real moto S3 server: a load balancer publishes into it, a backend joins through it, and two publishers racing
/// keep both entries.
@Suite struct GossipSeedObjectTests {
    static func role(_ name: String, _ settings: GossipSettings, metrics: any MetricsFactory = NOOPMetricsHandler.instance) async throws -> GossipRole {
        try await GossipRoleTests.role(name, settings, metrics: metrics)
    }

    static func settings(seeds: [SeedSource]) -> GossipSettings {
        var settings = GossipRoleTests.settings()
        settings.seeds = seeds
        return settings
    }

    /// Polls `condition` until it holds, failing the test after `timeout`.
    func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await condition(), "still false after \(timeout)")
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "outrider-seeds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aSeedFileLeadsToAJoin() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let a = try await Self.role("a", GossipRoleTests.settings())
        let port = try #require(a.address?.port)
        let path = directory + "/seeds.json"
        // The first attempts fail (no file yet, or a broken one); a later one reads the written file.
        let b = try await Self.role("b", Self.settings(seeds: [.file(path)]))
        try Data("{\"seeds\": 1}".utf8).write(to: URL(fileURLWithPath: path))
        try Data(#"{"seeds":[{"address":"127.0.0.1","port":"\#(port)"}]}"#.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        try await GossipRoleTests.waitFor("b alive at a", in: a.membership, timeout: .seconds(20)) { $0.member(named: "b")?.status == .alive }
        await b.shutdown(grace: .seconds(1))
        await a.shutdown(grace: .seconds(1))
    }

    @Test func aDNSNameLeadsToAJoin() async throws {
        let a = try await Self.role("a", GossipRoleTests.settings())
        let port = try #require(a.address?.port)
        // localhost's A record, from /etc/hosts through getaddrinfo (no DNS server is asked, so no timeout can
        // stand in the way).
        let b = try await Self.role("b", Self.settings(seeds: [.dns(name: "localhost", type: .a, port: port, server: nil)]))
        try await GossipRoleTests.waitFor("b alive at a", in: a.membership) { $0.member(named: "b")?.status == .alive }
        await b.shutdown(grace: .seconds(1))
        await a.shutdown(grace: .seconds(1))
    }

    @Test func anSRVRecordLeadsToAJoin() async throws {
        let a = try await Self.role("a", GossipRoleTests.settings())
        let port = try #require(a.address?.port)
        // Priority 0 names a dead port first, priority 1 the member: both are tried, in RFC 2782's order.
        let dns = try LoopbackDNSServer(services: [(priority: 1, port: port, target: "lb.test"), (priority: 0, port: 1, target: "dead.test")])
        defer { dns.stop() }
        let b = try await Self.role("b", Self.settings(seeds: [
            .dns(name: "_outrider._udp.test", type: .srv, port: 7946, server: NodeAddress(host: "127.0.0.1", port: dns.port)),
        ]))
        try await GossipRoleTests.waitFor("b alive at a", in: a.membership, timeout: .seconds(20)) { $0.member(named: "b")?.status == .alive }
        #expect(dns.queries.withLock { $0 }.first == "_outrider._udp.test")
        await b.shutdown(grace: .seconds(1))
        await a.shutdown(grace: .seconds(1))
    }

    @Test func anIPv6DNSServerIsAsked() async throws {
        let dns = try LoopbackDNSServer(services: [(priority: 0, port: 7000, target: "lb.test")], ipv6: true)
        defer { dns.stop() }
        let addresses = try await DNSLookup.seedAddresses(name: "_x._udp.test", type: .srv, port: 7946, server: NodeAddress(host: "::1", port: dns.port))
        #expect(addresses == [NodeAddress(host: "127.0.0.1", port: 7000)])
    }

    /// `server:` an IPv6 address: the query goes to a DNS server on ::1.
    @Test func anSRVRecordFromAnIPv6ServerLeadsToAJoin() async throws {
        let a = try await Self.role("a", GossipRoleTests.settings())
        let port = try #require(a.address?.port)
        let dns = try LoopbackDNSServer(services: [(priority: 0, port: port, target: "lb.test")], ipv6: true)
        defer { dns.stop() }
        let server = try #require(GossipSection.dnsServer("[::1]:\(dns.port)"))
        let b = try await Self.role("b", Self.settings(seeds: [.dns(name: "_outrider._udp.test", type: .srv, port: 7946, server: server)]))
        try await GossipRoleTests.waitFor("b alive at a", in: a.membership, timeout: .seconds(20)) { $0.member(named: "b")?.status == .alive }
        #expect(dns.queries.withLock { $0 }.first == "_outrider._udp.test")
        await b.shutdown(grace: .seconds(1))
        await a.shutdown(grace: .seconds(1))
    }

    static func s3Seeds(_ moto: MotoServer, bucket: String, publish: Bool) -> S3Seeds {
        var seeds = S3Seeds(
            endpoint: moto.endpoint.base, bucket: bucket, key: "cluster/seeds.json",
            accessKey: moto.credentials.accessKeyID, secretKey: moto.credentials.secretAccessKey)
        seeds.publish = publish
        return seeds
    }

    static func object(_ moto: MotoServer, bucket: String) async throws -> SeedList {
        let client = try moto.client(MultiThreadedEventLoopGroup.singleton)
        do {
            var list = SeedList()
            if let object = try await client.getObject(bucket: bucket, key: "cluster/seeds.json") {
                list = try SeedList.decode(Array(buffer: try await object.collect(upTo: 1 << 20)))
            }
            try await client.shutdown()
            return list
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func aLoadBalancerPublishesAndABackendJoinsThroughTheObject() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let setup = try moto.client(MultiThreadedEventLoopGroup.singleton)
        try await setup.createBucket("seeds")
        // A load balancer gone for good, and one scrimplb wrote (no time): the first ages out, the second stays.
        let old = SeedList(entries: [
            SeedList.Entry(address: "127.0.0.1", port: 1, updated: 1_000),
            SeedList.Entry(address: "127.0.0.1", port: 2),
        ])
        try await setup.putObject(bucket: "seeds", key: "cluster/seeds.json", bytes: ByteBuffer(bytes: old.encoded()))
        try await setup.shutdown()

        let metrics = TestMetrics()
        let lb = try await Self.role("lb", Self.settings(seeds: [.s3(Self.s3Seeds(moto, bucket: "seeds", publish: true))]), metrics: metrics)
        let lbAddress = try #require(lb.address)
        try await eventually(timeout: .seconds(20)) {
            try await Self.object(moto, bucket: "seeds").contains(address: lbAddress.host, port: lbAddress.port)
        }
        let published = try await Self.object(moto, bucket: "seeds")
        #expect(published.entries.map(\.port) == [lbAddress.port, 2], "\(published)")
        try await eventually { metrics.counters(label: "discovery_seed_publish_total").contains { $0.totalValue > 0 } }
        #expect(metrics.counters(label: "discovery_seed_publish_total", dimensions: [("result", "published")]).first?.totalValue ?? 0 >= 1)

        let backend = try await Self.role("web-1", Self.settings(seeds: [.s3(Self.s3Seeds(moto, bucket: "seeds", publish: false))]))
        try await GossipRoleTests.waitFor("the backend alive at the load balancer", in: lb.membership, timeout: .seconds(20)) {
            $0.member(named: "web-1")?.status == .alive
        }
        try await GossipRoleTests.waitFor("the load balancer alive at the backend", in: backend.membership) { $0.member(named: "lb")?.status == .alive }
        // The backend does not publish.
        #expect(try await Self.object(moto, bucket: "seeds").entries.count == 2)
        await backend.shutdown(grace: .seconds(1))
        await lb.shutdown(grace: .seconds(1))
    }

    /// A load balancer leaving gracefully takes its entry out of the object at once (the other entries stay); a
    /// store that cannot be reached then does not hold up the leave, and the failure is counted.
    @Test func aLoadBalancerLeavingTakesItsEntryOut() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let setup = try moto.client(MultiThreadedEventLoopGroup.singleton)
        try await setup.createBucket("leave")
        try await setup.putObject(bucket: "leave", key: "cluster/seeds.json", bytes: ByteBuffer(bytes: SeedList(entries: [
            SeedList.Entry(address: "127.0.0.1", port: 2),
        ]).encoded()))
        try await setup.shutdown()

        let metrics = TestMetrics()
        let seeds = Self.s3Seeds(moto, bucket: "leave", publish: true)
        let lb = try await Self.role("lb", Self.settings(seeds: [.s3(seeds)]), metrics: metrics)
        let lbAddress = try #require(lb.address)
        let other = try await Self.role("lb-2", Self.settings(seeds: [.s3(seeds)]))
        let otherAddress = try #require(other.address)
        try await eventually(timeout: .seconds(20)) {
            let list = try await Self.object(moto, bucket: "leave")
            return list.contains(address: lbAddress.host, port: lbAddress.port) && list.contains(address: otherAddress.host, port: otherAddress.port)
        }

        await lb.drain()
        let after = try await Self.object(moto, bucket: "leave")
        #expect(!after.contains(address: lbAddress.host, port: lbAddress.port), "\(after)")
        #expect(after.contains(address: otherAddress.host, port: otherAddress.port) && after.contains(address: "127.0.0.1", port: 2), "\(after)")
        #expect(metrics.counters(label: "discovery_seed_publish_total", dimensions: [("result", "withdrawn")]).first?.totalValue == 1)
        await lb.shutdown(grace: .seconds(1))
        #expect(metrics.counters(label: "discovery_seed_publish_total", dimensions: [("result", "withdrawn")]).first?.totalValue == 1, "once")

        await other.shutdown(grace: .seconds(1))
        #expect(try await Self.object(moto, bucket: "leave").entries == [SeedList.Entry(address: "127.0.0.1", port: 2)])

        // The store gone: the leave still ends, the failure counted.
        let otherMetrics = TestMetrics()
        let third = try await Self.role("lb-3", Self.settings(seeds: [.s3(seeds)]), metrics: otherMetrics)
        try await eventually(timeout: .seconds(20)) {
            otherMetrics.counters(label: "discovery_seed_publish_total", dimensions: [("result", "published")]).contains { $0.totalValue >= 1 }
        }
        moto.stop()
        await third.drain()
        #expect(otherMetrics.counters(label: "discovery_seed_publish_total", dimensions: [("result", "failed")]).first?.totalValue ?? 0 >= 1)
        #expect(otherMetrics.counters(label: "discovery_seed_publish_total", dimensions: [("result", "withdrawn")]).isEmpty)
        await third.shutdown(grace: .seconds(1))
    }

    @Test func conditionalWritesRefuseAStaleVersion() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let client = try moto.client(MultiThreadedEventLoopGroup.singleton)
        try await client.createBucket("conditions")
        let first = try await client.putObject(bucket: "conditions", key: "k", bytes: ByteBuffer(string: "1"), ifNoneMatch: "*")
        let etag = try #require(first)
        await #expect(throws: S3Error.self) { try await client.putObject(bucket: "conditions", key: "k", bytes: ByteBuffer(string: "x"), ifNoneMatch: "*") }
        try await client.putObject(bucket: "conditions", key: "k", bytes: ByteBuffer(string: "2"), ifMatch: etag)
        do {
            try await client.putObject(bucket: "conditions", key: "k", bytes: ByteBuffer(string: "3"), ifMatch: etag)
            Issue.record("a write with a stale If-Match succeeded")
        } catch {
            #expect(error.status == 412, "\(error)")
        }
        let object = try #require(try await client.getObject(bucket: "conditions", key: "k"))
        #expect(String(buffer: try await object.collect(upTo: 100)) == "2")
        try await client.shutdown()
    }

    @Test func aPublishOutlastsTransientStoreErrorsButNotAPersistentOne() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        try await moto.createBucket("flaky")
        let seeds = Self.s3Seeds(moto, bucket: "flaky", publish: true)
        let object = try SeedObject(seeds, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
        // S3 under load: a 500 InternalError, then a 503 SlowDown; each round is tried again after a pause.
        try await moto.failNext(1, status: 500)
        #expect(await object.publish(address: "10.0.0.1", port: 7946, now: now) == .published(conflicts: 0))
        try await moto.failNext(2, status: 503)
        #expect(await object.withdraw(address: "10.0.0.1", port: 7946) == .withdrawn(conflicts: 0))
        #expect(try await Self.object(moto, bucket: "flaky").entries.isEmpty)
        // A store failing every round: the publish gives up naming the last failure, without writing anything.
        try await moto.failNext(SeedObject.maximumAttempts, status: 503)
        guard case .failed(let detail, _) = await object.publish(address: "10.0.0.1", port: 7946, now: now) else {
            Issue.record("a publish through a failing store succeeded")
            return
        }
        #expect(detail.contains("gave up after \(SeedObject.maximumAttempts) attempts") && detail.contains("503 SlowDown"), "\(detail)")
        #expect(try await Self.object(moto, bucket: "flaky").entries.isEmpty)
        await object.shutdown()
    }

    @Test func twoPublishersRacingKeepBothEntries() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let setup = try moto.client(MultiThreadedEventLoopGroup.singleton)
        try await setup.createBucket("race")
        try await setup.shutdown()
        let seeds = Self.s3Seeds(moto, bucket: "race", publish: true)
        let first = try SeedObject(seeds, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let second = try SeedObject(seeds, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
        // Both start on an absent object (If-None-Match: *), then write again and again at the same moments.
        var outcomes: [SeedObject.PublishOutcome] = []
        for _ in 0..<6 {
            async let a = first.publish(address: "10.0.0.1", port: 7946, now: now)
            async let b = second.publish(address: "10.0.0.2", port: 7946, now: now)
            outcomes += [await a, await b]
            let list = try await Self.object(moto, bucket: "race")
            #expect(list.contains(address: "10.0.0.1", port: 7946) && list.contains(address: "10.0.0.2", port: 7946), "\(list)")
        }
        let conflicts = outcomes.reduce(0) { total, outcome in
            switch outcome {
            case .published(let conflicts):
                return total + conflicts
            case .failed(let detail, _):
                Issue.record("a publish failed: \(detail)")
                return total
            }
        }
        print("two racing publishers: \(outcomes.count) publishes, \(conflicts) conflicting writes redone")
        #expect(try await Self.object(moto, bucket: "race").entries.count == 2)
        await first.shutdown()
        await second.shutdown()
    }
}

/// A DNS server on 127.0.0.1 for one test: every query is answered with the SRV records it was given (RFC 2782),
/// each target's A record (127.0.0.1) in the additional section, as a name server answering from its zone does.
final class LoopbackDNSServer: Sendable {
    let port: Int
    private let socket: Int32
    let queries = Mutex<[String]>([])

    /// On 127.0.0.1, or on ::1 with `ipv6`.
    init(services: [(priority: UInt16, port: Int, target: String)], ipv6: Bool = false) throws {
        let descriptor = Glibc.socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        socket = descriptor
        var address = sockaddr_storage()
        var length = socklen_t(ipv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { storage in
            if ipv6 {
                storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    $0.pointee.sin6_family = sa_family_t(AF_INET6)
                    $0.pointee.sin6_addr = in6addr_loopback
                }
            } else {
                storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    $0.pointee.sin_family = sa_family_t(AF_INET)
                    $0.pointee.sin_addr.s_addr = inet_addr("127.0.0.1")
                }
            }
            return storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw TimedOut(what: "cannot bind a UDP socket on \(ipv6 ? "::1" : "127.0.0.1")") }
        port = withUnsafePointer(to: &address) { storage in
            ipv6 ? storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
                : storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        let socket = descriptor
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 512)
            while true {
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &peerLength) }
                }
                guard count > 12 else { return }
                let query = Array(buffer.prefix(count))
                guard let reply = Self.answer(query, services: services, queries: self.queries) else { continue }
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, reply, reply.count, 0, $0, peerLength) }
                }
            }
        }
        thread.start()
    }

    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func answer(_ query: [UInt8], services: [(priority: UInt16, port: Int, target: String)], queries: borrowing Mutex<[String]>) -> [UInt8]? {
        // The question: a name of labels, then type and class.
        var offset = 12
        var labels: [String] = []
        while offset < query.count, query[offset] != 0 {
            let length = Int(query[offset])
            guard offset + 1 + length <= query.count else { return nil }
            labels.append(String(decoding: query[(offset + 1)..<(offset + 1 + length)], as: UTF8.self))
            offset += 1 + length
        }
        guard offset + 5 <= query.count else { return nil }
        queries.withLock { $0.append(labels.joined(separator: ".")) }
        let question = Array(query[12..<(offset + 5)])
        func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        var message = Array(query[0..<2]) + [0x85, 0x80] + u16(1) + u16(services.count) + u16(0) + u16(services.count)
        message += question
        for service in services {
            let rdata = u16(Int(service.priority)) + u16(10) + u16(service.port) + name(service.target)
            message += [0xC0, 0x0C] + u16(33) + u16(1) + [0, 0, 0, 60] + u16(rdata.count) + rdata
        }
        for service in services {
            message += name(service.target) + u16(1) + u16(1) + [0, 0, 0, 60] + u16(4) + [127, 0, 0, 1]
        }
        return message
    }

    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }
}
