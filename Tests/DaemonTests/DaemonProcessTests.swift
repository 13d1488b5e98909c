import Foundation
import Testing

/// The built binary end to end: command line, exit codes, signals, admin endpoints.
@Suite struct DaemonProcessTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "outrider-")
    }

    func write(_ text: String, to name: String = "outrider.yaml") throws -> String {
        let path = directory.path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func version() throws {
        let result = try DaemonProcess.run(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("outrider 0."), "\(result.stdout)")
    }

    @Test func checkConfigSummarisesAValidFile() throws {
        // check-config binds nothing, so a fixed port here is only text.
        let path = try write("node:\n  name: edge-7\nadmin:\n  listen: 127.0.0.1:9999\n")
        let result = try DaemonProcess.run(["check-config", "--config", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\(path): configuration is valid"), "\(result.stdout)")
        #expect(result.stdout.contains("node edge-7, admin 127.0.0.1:9999"), "\(result.stdout)")
    }

    @Test func checkConfigListsEveryProblemWithPosition() throws {
        let path = try write("admin:\n  listen: nowhere\nlog:\n  levl: info\nroles:\n  teleporter: {}\n")
        let result = try DaemonProcess.run(["check-config", "--config", path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        try #require(lines.count == 3, "\(result.stderr)")
        #expect(lines[0].hasPrefix("\(path):2:11: invalid address 'nowhere'"), "\(lines[0])")
        #expect(lines[1].hasPrefix("\(path):4:3: unknown key 'levl' in log"), "\(lines[1])")
        #expect(lines[2].hasPrefix("\(path):6:3: unknown role 'teleporter'"), "\(lines[2])")
    }

    @Test func runWithABadFileExitsOne() throws {
        let path = try write("shutdown_grace: forever\n")
        let result = try DaemonProcess.run(["run", "--config", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):1:17: invalid duration 'forever'"), "\(result.stderr)")
    }

    @Test func portInUseExitsTwoNamingTheAddress() throws {
        let blocker = BlockedPort()
        defer { withExtendedLifetime(blocker) {} }
        let port = blocker.port
        let path = try write("admin:\n  listen: 127.0.0.1:\(port)\n")
        let result = try DaemonProcess.run(["run", "--config", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("admin.listen 127.0.0.1:\(port): cannot listen: address already in use"), "\(result.stderr)")
    }

    @Test func runReloadAndStop() async throws {
        let path = try write("node:\n  name: e2e\nadmin:\n  listen: 127.0.0.1:0\nshutdown_grace: 2s\n")
        let daemon = try DaemonProcess(["run", "--config", path, "--log-format", "json"])
        let started = try await daemon.waitForLine(containing: "outrider started")
        let port = try #require(DaemonProcess.loopbackPort(in: started), "\(started)")
        #expect(started.hasPrefix("{\"time\":"), "--log-format json applies: \(started)")

        var status = try await AdminClient.get(port, "/v1/status")
        #expect(status.status == 200)
        #expect(status.body.contains("\"node\": \"e2e\""), "\(status.body)")
        #expect(status.body.contains("\"path\": \"\(path)\""), "\(status.body)")
        #expect(try await AdminClient.get(port, "/healthz").status == 200)
        var metrics = try await AdminClient.get(port, "/metrics").body
        #expect(metrics.contains("process_resident_memory_bytes "), "\(metrics)")
        #expect(metrics.contains("process_open_fds "), "\(metrics)")
        #expect(metrics.contains("process_start_time_seconds "), "\(metrics)")
        #expect(metrics.contains("outrider_config_reloads_total{result=\"success\"} 0"), "\(metrics)")

        // A valid new file is applied.
        _ = try write("node:\n  name: e2e\nadmin:\n  listen: 127.0.0.1:0\nshutdown_grace: 3s\nlog:\n  level: debug\n")
        daemon.signal(SIGHUP)
        _ = try await daemon.waitForLine(containing: "configuration reloaded")
        metrics = try await AdminClient.get(port, "/metrics").body
        #expect(metrics.contains("outrider_config_reloads_total{result=\"success\"} 1"), "\(metrics)")
        #expect(metrics.contains("outrider_config_last_reload_success_timestamp_seconds "), "\(metrics)")

        // An invalid one changes nothing, is logged with its position and counted.
        _ = try write("node:\n  name: e2e\nadmin:\n  listen: 127.0.0.1:0\nshutdown_grace: never\n")
        daemon.signal(SIGHUP)
        let error = try await daemon.waitForLine(containing: "configuration not reloaded")
        #expect(error.contains("\(path):5:17: invalid duration 'never'"), "\(error)")
        metrics = try await AdminClient.get(port, "/metrics").body
        #expect(metrics.contains("outrider_config_reloads_total{result=\"failure\"} 1"), "\(metrics)")
        status = try await AdminClient.get(port, "/v1/status")
        #expect(status.body.contains("\"result\": \"failure\""), "\(status.body)")
        #expect(try await AdminClient.get(port, "/healthz").status == 200, "still serving on the old configuration")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        #expect(daemon.stderr.contains { $0.contains("outrider stopped") })
        #expect(!daemon.stderr.contains { $0.contains("ERROR") }, "\(daemon.stderr.joined(separator: "\n"))")
    }
}
