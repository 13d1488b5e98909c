import Foundation
import Testing
import TestSupport

/// The gossip role through the built binary, in one cluster with a real serf agent (`/usr/bin/serf`) on loopback:
/// serf sees outrider's tags, `outrider members` lists serf, SIGTERM is `left` and kill -9 is `failed` in serf.
@Suite struct GossipRoleProcessTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "outrider-gossip-")
    }

    func startOutrider(name: String, joining serf: SerfProcess) async throws -> (DaemonProcess, adminPort: Int) {
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
                join: ["127.0.0.1:\(serf.port)"]
                tags: {role: backend, apps: "web,api"}
                leave_timeout: 2s
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started")
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        _ = try await daemon.waitForLine(containing: "gossip: listening")
        return (daemon, adminPort)
    }

    @Test func joinsSerfShowsMembersAndLeavesOnSIGTERM() async throws {
        let serf = try SerfProcess(name: "serf-p1", tags: ["role": "lb"])
        defer { serf.stop() }
        try await Task.sleep(for: .milliseconds(500))
        let (daemon, adminPort) = try await startOutrider(name: "outrider-p1", joining: serf)
        try await eventually(timeout: .seconds(15)) { serf.status(of: "outrider-p1") == "alive apps=web,api,role=backend" }
        try await eventually {
            let listing = try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)"])
            return listing.stdout.contains("serf-p1") && listing.stdout.contains("alive") && listing.stdout.contains("role=lb")
        }
        let json = try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)", "--format", "json", "--tag", "role=lb"])
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"name\" : \"serf-p1\""), "\(json.stdout)")
        #expect(!json.stdout.contains("outrider-p1"), "\(json.stdout)")
        let status = try await AdminClient.get(adminPort, "/v1/status").body
        #expect(status.contains("health_score"), "\(status)")
        let metrics = try await AdminClient.get(adminPort, "/metrics").body
        #expect(metrics.contains("outrider_gossip_messages_total{"), "\(metrics)")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        try await eventually(timeout: .seconds(15)) { serf.status(of: "outrider-p1")?.hasPrefix("left") == true }
    }

    @Test func aKilledSerfAgentIsReportedFailed() async throws {
        let serf = try SerfProcess(name: "serf-p3", tags: ["role": "lb"])
        try await Task.sleep(for: .milliseconds(500))
        let (daemon, adminPort) = try await startOutrider(name: "outrider-p3", joining: serf)
        try await eventually(timeout: .seconds(15)) {
            try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)", "--status", "alive"]).stdout.contains("serf-p3")
        }
        serf.kill()
        try await eventually(timeout: .seconds(20)) {
            try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)", "--status", "failed"]).stdout.contains("serf-p3")
        }
        // The change reached the membership view's publisher, which logs each change it applies.
        #expect(daemon.stderr.contains { $0.contains("member serf-p3") && $0.contains("is failed") })
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit()
    }

    @Test func aKilledOutriderIsFailedInSerf() async throws {
        let serf = try SerfProcess(name: "serf-p2", tags: ["role": "lb"])
        defer { serf.stop() }
        try await Task.sleep(for: .milliseconds(500))
        let (daemon, _) = try await startOutrider(name: "outrider-p2", joining: serf)
        try await eventually(timeout: .seconds(15)) { serf.status(of: "outrider-p2")?.hasPrefix("alive") == true }
        daemon.signal(SIGKILL)
        _ = try await daemon.waitForExit()
        try await eventually(timeout: .seconds(20)) { serf.status(of: "outrider-p2")?.hasPrefix("failed") == true }
    }

    @Test func membersShowsEachBackendsApplications() async throws {
        let path = directory.path("backend.yaml")
        try """
            node:
              name: web-1
            admin:
              listen: 127.0.0.1:0
            roles:
              gossip:
                bind: 127.0.0.1:0
                profile: local
                tags: {dc: eu1}
                applications:
                  - {name: web, listen_port: 443, application_port: 8080, protocol: http, domains: [example.com, www.example.com]}
                  - {name: api, listen_port: 8443, application_port: 9000, protocol: https, domains: [api.example.com]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started")
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        _ = try await daemon.waitForLine(containing: "gossip: listening")
        var listing = try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)"])
        try await eventually {
            listing = try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)"])
            return listing.stdout.contains("web-1")
        }
        let lines = listing.stdout.split(separator: "\n").map(String.init)
        let row = try #require(lines.firstIndex { $0.hasPrefix("web-1") }, "\(listing.stdout)")
        // The tags column without the apps tag, which is shown as one line per application instead.
        #expect(lines[row].hasSuffix("alive  dc=eu1,role=backend"), "\(listing.stdout)")
        #expect(Array(lines[(row + 1)...].prefix(2)) == [
            "    web  443 -> 8080/http  example.com,www.example.com",
            "    api  8443 -> 9000/https  api.example.com",
        ], "\(listing.stdout)")
        let json = try DaemonProcess.run(["members", "--admin", "127.0.0.1:\(adminPort)", "--format", "json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let member = try #require((object["members"] as? [[String: Any]])?.first { $0["name"] as? String == "web-1" })
        let applications = try #require(member["applications"] as? [[String: Any]], "\(json.stdout)")
        #expect(applications.map { $0["name"] as? String } == ["web", "api"])
        #expect(applications.first?["application_port"] as? Int == 8080)
        #expect(applications.first?["domains"] as? [String] == ["example.com", "www.example.com"])
        #expect(applications.last?["protocol"] as? String == "https")
        // The discovery metrics under the issue's names.
        try await eventually {
            let metrics = try await AdminClient.get(adminPort, "/metrics").body
            return metrics.contains(#"outrider_discovery_backends{application="web"} 1"#)
        }
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test func keygenPrintsA32ByteKey() throws {
        let result = try DaemonProcess.run(["keygen"])
        #expect(result.status == 0)
        let key = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Data(base64Encoded: key)?.count == 32)
    }

    @Test func badGossipSettingsAreReportedAtTheirPosition() throws {
        let path = directory.path("bad.yaml")
        try """
            roles:
              gossip:
                bind: 127.0.0.1:0
                advertise: no-such-host.invalid:7946
                encryption:
                  keys: ["bm90IGEga2V5"]
                tags: {big: "\(String(repeating: "x", count: 600))"}
                probe_intervl: 1s
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try DaemonProcess.run(["check-config", "--config", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("bad.yaml:4:"), "\(result.stderr)")
        #expect(result.stderr.contains("bad.yaml:6:"), "\(result.stderr)")
        #expect(result.stderr.contains("bad.yaml:7:"), "\(result.stderr)")
        #expect(result.stderr.contains("unknown key 'probe_intervl'"), "\(result.stderr)")
    }
}
