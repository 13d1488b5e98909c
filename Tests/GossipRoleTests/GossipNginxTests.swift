import Foundation
import Membership
import MetricsTestKit
import NIOCore
import NIOHTTP1
import NIOPosix
import Plugins
import Testing
import TestSupport

@testable import GossipRole

/// The generator driving a real nginx: a load balancer whose `roles.gossip.generate` (read from YAML) keeps an
/// nginx `conf.d` file in step with backends that join and leave, each a gossip member announcing `web` with a real
/// HTTP server behind it. After every change the file names exactly the current backends, requests through nginx
/// reach exactly them, every reload was preceded by an `nginx -t` of the very file reloaded, and a check that fails
/// keeps the previous file (and nginx on it), counted and shown in the status.
@Suite struct GossipNginxTests: GossipSectionParsing {
    @Test func theGeneratorDrivesARealNginxThroughJoinsAndLeaves() async throws {
        let nginx = try NginxUnderTest()
        defer { nginx.stop() }
        let listenPort = try FreePort.tcp(on: "0.0.0.0")

        var settings = try parse("""
              gossip:
                bind: "127.0.0.1:0"
                profile: local
                generate:
                  format: nginx
                  target: \(nginx.target)
                  check: ["\(nginx.checkScript)"]
                  reload: ["\(nginx.reloadScript)"]
                  debounce: 100ms

            """)
        settings.timings = GossipRoleTests.settings().timings
        let metrics = TestMetrics()
        let lb = try await GossipRoleTests.role("lb", settings, metrics: metrics)
        let lbPort = try #require(lb.address?.port)

        // The first run writes the file for a cluster of the load balancer alone (no server), checked and loaded.
        try await nginx.eventually("the first file applied") { nginx.log().count == 2 }
        #expect(nginx.log().map { $0.action } == ["check", "reload"])

        let group = MultiThreadedEventLoopGroup.singleton
        var backends: [String: NamedBackend] = [:]
        for name in ["b1", "b2", "b3"] { backends[name] = try await NamedBackend(name: name, group: group) }
        defer { for backend in backends.values { backend.channel.close(promise: nil) } }

        func member(_ name: String) async throws -> GossipRole {
            let port = try #require(backends[name]?.port)
            let web = Application(name: "web", listenPort: listenPort, applicationPort: port, transport: .http, domains: ["web.test"])
            var backend = GossipRoleTests.settings(join: ["127.0.0.1:\(lbPort)"])
            backend.applications = [web]
            backend.tags = ["role": "backend", ApplicationTag.key: ApplicationTag.encode([web])]
            return try await GossipRoleTests.role(name, backend)
        }

        /// The file names exactly `names`' ports, requests through nginx reach exactly them, and each reload so far
        /// came right after a check of the same file.
        func expectServing(_ names: Set<String>, _ step: String) async throws {
            let ports = Set(try names.map { try #require(backends[$0]?.port) })
            try await nginx.eventually("\(step): the file names \(names.sorted())") {
                Set(nginx.upstreamPorts()) == ports
            }
            try await nginx.eventually("\(step): requests through nginx reach exactly \(names.sorted())") {
                guard let answered = try? await nginx.answers(port: listenPort, host: "web.test", count: 3 * max(names.count, 1)) else { return false }
                return names.isEmpty ? answered == ["503"] : answered == names
            }
            nginx.expectEveryReloadChecked(step)
        }

        let b1 = try await member("b1")
        try await expectServing(["b1"], "b1 joined")
        let b2 = try await member("b2")
        try await expectServing(["b1", "b2"], "b2 joined")

        // A member announcing nothing changes the membership but not the file: nothing is written, checked, reloaded.
        let runs = nginx.log().count
        let inode = try nginx.targetInode()
        let plain = try await GossipRoleTests.role("plain", GossipRoleTests.settings(join: ["127.0.0.1:\(lbPort)"]))
        try await GossipRoleTests.waitFor("plain alive at lb", in: lb.membership) { $0.member(named: "plain")?.status == .alive }
        try await Task.sleep(for: .seconds(1))
        #expect(nginx.log().count == runs, "\(nginx.log())")
        #expect(try nginx.targetInode() == inode, "the file was not replaced")

        await b1.drain()
        await b1.shutdown(grace: .seconds(1))
        try await expectServing(["b2"], "b1 left")

        // The check fails (the real nginx -t finds an error in the configuration it is given): the file stays as it
        // was, nothing is reloaded, nginx keeps serving b2 alone; counted and shown.
        let goodText = try String(contentsOfFile: nginx.target, encoding: .utf8)
        try nginx.breakCheck(true)
        let b3 = try await member("b3")
        try await GossipRoleTests.waitFor("b3 announced at lb", in: lb.membership) { $0.endpoints(of: "web").count == 2 }
        try await nginx.eventually("a failed check counted") {
            metrics.counters(label: "discovery_generator_runs_total", dimensions: [("result", "check_failed")]).contains { $0.totalValue >= 1 }
        }
        let status = await lb.status()
        #expect(status["generator"]?["last_result"] == .string("check_failed"), "\(status)")
        if case .string(let detail)? = status["generator"]?["detail"] {
            #expect(detail.contains("[emerg]"), "\(detail)")
        } else {
            Issue.record("no detail in \(status)")
        }
        #expect(nginx.log().last?.action == "check", "no reload after a failed check: \(nginx.log())")
        // (Polled: a later change of members would try again, and fail again, with the new file in place meanwhile.)
        try await nginx.eventually("the previous file back, and no temporary file left") {
            (try? String(contentsOfFile: nginx.target, encoding: .utf8)) == goodText
                && (try? FileManager.default.contentsOfDirectory(atPath: nginx.confDirectory))?.allSatisfy { !$0.hasPrefix(".") } == true
        }
        #expect(try await nginx.answers(port: listenPort, host: "web.test", count: 4) == ["b2"])

        // Fixed, a reload of the role (SIGHUP, the same settings) renders the file again and applies it.
        try nginx.breakCheck(false)
        #expect(try await lb.reconfigure(to: settings) == .applied)
        try await expectServing(["b2", "b3"], "the check fixed and the role reloaded")
        // nginx may serve the new file before the generator has recorded the reload it ran (and a later run of the
        // same members finds the file unchanged).
        try await nginx.eventually("the reload recorded") {
            let result = await lb.status()["generator"]?["last_result"]
            return result == .string("applied") || result == .string("unchanged")
        }

        await b2.drain()
        await b2.shutdown(grace: .seconds(1))
        try await expectServing(["b3"], "b2 left")

        // The last backend leaves: nginx answers 503 for the application.
        await b3.drain()
        await b3.shutdown(grace: .seconds(1))
        try await expectServing([], "b3 left")
        #expect(try String(contentsOfFile: nginx.target, encoding: .utf8).contains("return 503;"))

        // nginx serves the last file as soon as it is reloaded, which may be before the generator counts that run.
        let applied = { Int(metrics.counters(label: "discovery_generator_runs_total", dimensions: [("result", "applied")]).first?.totalValue ?? 0) }
        let reloads = nginx.log().filter { $0.action == "reload" }.count
        try await nginx.eventually("every applied run reloaded once: \(nginx.log())") { applied() == reloads }
        #expect(applied() == nginx.log().filter { $0.action == "reload" }.count, "no reload after the last run counted")
        print("nginx churn: \(nginx.log().count) runs of check or reload, \(reloads) reloads")
        await plain.shutdown(grace: .seconds(1))
        await lb.shutdown(grace: .seconds(1))
    }
}
