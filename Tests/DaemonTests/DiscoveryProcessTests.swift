import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport
import Testing

/// Service discovery through the built binary (docs/discovery.md), as scrimplb's setup runs: a load balancer
/// (proxy + gossip, a `gossip://web` pool chosen by `Host`, publishing its address into an S3 seed object on a real
/// moto server) and backends (gossip announcing `web`, joining through that object, each beside a real HTTP
/// server) as separate processes on loopback. Requests reach every backend; a backend whose daemon is killed with
/// kill -9 stops getting traffic once gossip finds it failed (its HTTP server still answers, so nothing else takes
/// it out); a backend started later gets traffic with no reload; a host killed whole (daemon and HTTP server)
/// under a client of GETs costs that client no error, as the proxy retries idempotent requests elsewhere.
@Suite struct DiscoveryProcessTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "outrider-disc-")
    }

    /// One backend host: an HTTP server whose pages name it, and the outrider daemon announcing it.
    final class Backend {
        let name: String
        let http: StaticBackend
        let daemon: DaemonProcess

        init(name: String, http: StaticBackend, daemon: DaemonProcess) {
            self.name = name
            self.http = http
            self.daemon = daemon
        }
    }

    /// What the client saw, request by request: the backend that answered (its page's text) or the error.
    actor Traffic {
        struct Outcome {
            var at: ContinuousClock.Instant
            var backend: String?
            var error: String?
        }

        private(set) var outcomes: [Outcome] = []
        /// Set when the test is done with the client: it ends after its request in flight, which is not cancelled
        /// (a cancelled request would count as an error).
        private(set) var stopped = false

        func stop() { stopped = true }

        func record(_ outcome: Outcome) { outcomes.append(outcome) }

        /// The backends that answered the last `count` requests, when there were that many and all were answered.
        func lastBackends(_ count: Int) -> Set<String>? {
            let last = outcomes.suffix(count)
            guard last.count == count, last.allSatisfy({ $0.backend != nil }) else { return nil }
            return Set(last.compactMap(\.backend))
        }

        func backends(since instant: ContinuousClock.Instant) -> [String] {
            outcomes.filter { $0.at >= instant }.compactMap(\.backend)
        }

        func first(from backend: String) -> ContinuousClock.Instant? {
            outcomes.first { $0.backend == backend }?.at
        }

        func last(from backend: String) -> ContinuousClock.Instant? {
            outcomes.last { $0.backend == backend }?.at
        }

        var errors: [String] { outcomes.compactMap(\.error) }
    }

    /// The `seeds` lines of a gossip section (four spaces in): the S3 seed object on `moto`.
    func seeds(_ moto: MotoServer, publish: Bool) -> String {
        [
            "seeds:",
            "  - s3:",
            "      endpoint: \(moto.endpoint.base)",
            "      bucket: cluster",
            "      key: lb/seeds.json",
            "      access_key: \(moto.credentials.accessKeyID)",
            "      secret_key: \(moto.credentials.secretAccessKey)",
            "      publish: \(publish)",
        ].map { "    " + $0 }.joined(separator: "\n")
    }

    func startLoadBalancer(_ moto: MotoServer) async throws -> (DaemonProcess, adminPort: Int, proxyPort: Int) {
        let path = directory.path("lb.yaml")
        try """
            node:
              name: lb-1
            admin:
              listen: 127.0.0.1:0
            roles:
              gossip:
                bind: 127.0.0.1:0
                profile: local
                tags: {role: lb}
            \(seeds(moto, publish: true))
              proxy:
                listen: ["127.0.0.1:0"]
                sites:
                  - name: web
                    pools: ["gossip://web"]
                routes:
                  - {hosts: [web.test, "*.web.test"], site: web}
                health:
                  path: /
                  interval: 200ms
                  timeout: 1s
                retry: {attempts: 2}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started", timeout: .seconds(30))
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let listening = try await daemon.waitForLine(containing: "proxy listening", timeout: .seconds(30))
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))
        _ = try await daemon.waitForLine(containing: "gossip: published", timeout: .seconds(30))
        return (daemon, adminPort, proxyPort)
    }

    func startBackend(_ name: String, _ moto: MotoServer) async throws -> Backend {
        let www = directory.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: www, withIntermediateDirectories: true)
        try "\(name)\n".write(to: www.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let http = try await StaticBackend(serving: www)
        let path = directory.path("\(name).yaml")
        try """
            node:
              name: \(name)
            admin:
              listen: 127.0.0.1:0
            roles:
              gossip:
                bind: 127.0.0.1:0
                profile: local
                applications:
                  - {name: web, listen_port: 8080, application_port: \(http.port), protocol: http, domains: [web.test]}
            \(seeds(moto, publish: false))
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        _ = try await daemon.waitForLine(containing: "outrider started", timeout: .seconds(30))
        return Backend(name: name, http: http, daemon: daemon)
    }

    /// A GET through the proxy with `host` as its `Host`: the status and the body.
    static func get(_ client: HTTPClient, port: Int, host: String) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/")
        request.headers.replaceOrAdd(name: "Host", value: host)
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        return (response.status.code, String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func members(_ adminPort: Int, status: String) throws -> String {
        try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)", "--status", status]).stdout
    }

    @Test func backendsJoinThroughTheS3SeedObjectAndFollowTheMembershipWithoutErrors() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        try await moto.createBucket("cluster")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await run(moto, client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func run(_ moto: MotoServer, _ client: HTTPClient) async throws {
        let (lb, adminPort, proxyPort) = try await startLoadBalancer(moto)
        let web1Start = ContinuousClock.now
        let web1 = try await startBackend("web-1", moto)
        let web2 = try await startBackend("web-2", moto)

        // Both backends found the load balancer in the object, joined, and take traffic for web.test.
        var seen: Set<String> = []
        try await eventually(timeout: .seconds(30)) {
            if let answer = try? await Self.get(client, port: proxyPort, host: "web.test"), answer.status == 200 { seen.insert(answer.body) }
            return seen == ["web-1", "web-2"]
        }
        print("discovery: web-1 and web-2 both answered \(ContinuousClock.now - web1Start) after web-1's start")
        #expect(web1.daemon.stderr.contains { $0.contains("gossip: joined through") && $0.contains("seed source") }, "\(web1.daemon.stderr)")
        #expect(try await Self.get(client, port: proxyPort, host: "www.web.test").status == 200)
        #expect(try await Self.get(client, port: proxyPort, host: "other.test").status == 404)

        // A client of idempotent GETs from now to the end.
        let traffic = Traffic()
        let running = Task {
            while !Task.isCancelled, await !traffic.stopped {
                do {
                    let answer = try await Self.get(client, port: proxyPort, host: "web.test")
                    if answer.status == 200 {
                        await traffic.record(.init(at: .now, backend: answer.body))
                    } else {
                        await traffic.record(.init(at: .now, error: "\(answer.status) \(answer.body)"))
                    }
                } catch {
                    await traffic.record(.init(at: .now, error: "\(error)"))
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        defer { running.cancel() }
        try await eventually(timeout: .seconds(30)) { await traffic.lastBackends(40) == ["web-1", "web-2"] }

        // web-2's daemon dies; its HTTP server keeps answering (and passing health checks), so only the membership
        // can take it out of the pool.
        let web2Killed = ContinuousClock.now
        web2.daemon.signal(SIGKILL)
        _ = try await web2.daemon.waitForExit()
        try await eventually(timeout: .seconds(30)) { try members(adminPort, status: "failed").contains("web-2") }
        try await eventually(timeout: .seconds(30)) { await traffic.lastBackends(40) == ["web-1"] }
        let web2Gone = ContinuousClock.now
        if let last = await traffic.last(from: "web-2") {
            print("discovery: last request to web-2 \(last - web2Killed) after its kill -9 (local profile)")
        }
        try await Task.sleep(for: .seconds(1))
        let afterRemoval = await traffic.backends(since: web2Gone)
        #expect(!afterRemoval.isEmpty && !afterRemoval.contains("web-2"), "web-2 got traffic after it was failed")

        // web-3 starts: it joins through the object and gets traffic, without any reload of the load balancer.
        let web3Start = ContinuousClock.now
        let web3 = try await startBackend("web-3", moto)
        try await eventually(timeout: .seconds(30)) { await traffic.first(from: "web-3") != nil }
        if let first = await traffic.first(from: "web-3") {
            print("discovery: first request to web-3 \(first - web3Start) after its start")
        }
        try await eventually(timeout: .seconds(30)) { await traffic.lastBackends(40) == ["web-1", "web-3"] }

        // web-3's host dies whole: daemon and HTTP server. Requests in flight to it and those sent before the
        // failure is known are retried on web-1; the client sees none of it.
        let web3Killed = ContinuousClock.now
        web3.daemon.signal(SIGKILL)
        web3.http.stop()
        _ = try await web3.daemon.waitForExit()
        try await eventually(timeout: .seconds(30)) { try members(adminPort, status: "failed").contains("web-3") }
        try await eventually(timeout: .seconds(30)) { await traffic.lastBackends(40) == ["web-1"] }
        if let last = await traffic.last(from: "web-3") {
            print("discovery: last request answered by web-3 \(last - web3Killed) after its host's kill -9")
        }
        await traffic.stop()
        _ = await running.value

        let errors = await traffic.errors
        let total = await traffic.outcomes.count
        print("discovery: \(total) requests through the load balancer, \(errors.count) failed")
        #expect(errors.isEmpty, "\(errors.prefix(10))")
        #expect(lb.stderr.filter { $0.contains("role started") }.count == 2, "\(lb.stderr)")
        #expect(!lb.stderr.contains { $0.contains("configuration reloaded") })

        web1.daemon.signal(SIGTERM)
        #expect(try await web1.daemon.waitForExit() == 0)
        lb.signal(SIGTERM)
        #expect(try await lb.waitForExit() == 0)
        // Its graceful leave took its address out of the seed object rather than leaving it to age out.
        #expect(lb.stderr.contains { $0.contains("gossip: took") && $0.contains("out of the seed object s3://cluster/") }, "\(lb.stderr.suffix(20))")
    }
}
