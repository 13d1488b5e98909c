import Foundation
import Membership
import MetricsTestKit
import Plugins
import Testing

@testable import GossipRole

/// A backend announces an application; the load balancer's membership carries it, its generated nginx file follows
/// it (checked by the real nginx before it replaces the old one), and a reload re-announces a changed set at once.
@Suite struct GossipDiscoveryTests {
    @Test func announcedApplicationsReachTheLoadBalancerAndItsGeneratedFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-discovery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("outrider-upstreams.conf").path
        let main = directory.appendingPathComponent("nginx.conf").path
        try "pid \(directory.path)/nginx.pid;\nevents {}\nhttp { access_log off; include \(target); }\n".write(toFile: main, atomically: true, encoding: .utf8)

        var balancer = GossipRoleTests.settings(tags: ["role": "lb"])
        balancer.generate = .init(
            configuration: LoadBalancerConfiguration(format: .nginx),
            file: LoadBalancerFile(target: target, check: ["/usr/sbin/nginx", "-t", "-q", "-e", "\(directory.path)/error.log", "-p", directory.path, "-c", main]),
            debounce: .milliseconds(100)
        )
        let metrics = TestMetrics()
        let lb = try await GossipSeedObjectTests.role("lb", balancer, metrics: metrics)
        let port = try #require(lb.address?.port)

        let web = Application(name: "web", listenPort: 443, applicationPort: 8080, transport: .http, domains: ["example.com"])
        var backend = GossipRoleTests.settings(join: ["127.0.0.1:\(port)"])
        backend.applications = [web]
        backend.tags = ["role": "backend", ApplicationTag.key: ApplicationTag.encode([web])]
        let b1 = try await GossipRoleTests.role("b1", backend)

        try await GossipRoleTests.waitFor("web announced by b1", in: lb.membership) { $0.endpoints(of: "web").map(\.member) == ["b1"] }
        try await eventually("the generated file names b1") {
            (try? String(contentsOfFile: target, encoding: .utf8))?.contains("server 127.0.0.1:8080;") == true
        }

        // A reload that adds an application is re-announced in place.
        let api = Application(name: "api", listenPort: 8443, applicationPort: 9000, transport: .http, domains: ["api.example.com"])
        var reloaded = backend
        reloaded.applications = [web, api]
        reloaded.tags[ApplicationTag.key] = ApplicationTag.encode([web, api])
        #expect(try await b1.reconfigure(to: reloaded) == .applied)
        try await GossipRoleTests.waitFor("api announced by b1", in: lb.membership) { $0.endpoints(of: "api").count == 1 }
        try await eventually("the generated file has api") {
            (try? String(contentsOfFile: target, encoding: .utf8))?.contains("upstream outrider_api") == true
        }
        let status = await lb.status()
        #expect(status["generator"]?["last_result"] == .string("applied"), "\(status)")
        // The issue's metric names (the host's prefix is outrider_; a test factory has none).
        try await eventually("a generator run counted") {
            metrics.counters(label: "discovery_generator_runs_total", dimensions: [("result", "applied")]).contains { $0.totalValue >= 1 }
        }
        try await eventually("one backend counted for api") { (try? metrics.expectGauge("discovery_backends", [("application", "api")]).lastValue) == 1 }

        // The backend leaves: its applications go from the load balancer's view and file.
        await b1.drain()
        await b1.shutdown(grace: .seconds(1))
        try await GossipRoleTests.waitFor("b1 gone", in: lb.membership) { $0.endpoints(of: "web").isEmpty }
        try await eventually("no backend counted for web") { (try? metrics.expectGauge("discovery_backends", [("application", "web")]).lastValue) == 0 }
        try await eventually("the generated file without backends") {
            (try? String(contentsOfFile: target, encoding: .utf8)).map { !$0.contains("upstream") } == true
        }
        await lb.shutdown(grace: .seconds(1))
    }

    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<200 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
    }
}
