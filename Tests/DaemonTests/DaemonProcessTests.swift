import Foundation
import XCTest

/// The built binary end to end: command line, exit codes, signals, admin endpoints.
final class DaemonProcessTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ text: String, to name: String = "outrider.yaml") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testVersion() throws {
        let result = try DaemonProcess.run(["version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("outrider 0."), result.stdout)
    }

    func testCheckConfigSummarisesAValidFile() throws {
        let path = try write("node:\n  name: edge-7\nadmin:\n  listen: 127.0.0.1:9999\n")
        let result = try DaemonProcess.run(["check-config", "--config", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\(path): configuration is valid"), result.stdout)
        XCTAssertTrue(result.stdout.contains("node edge-7, admin 127.0.0.1:9999"), result.stdout)
    }

    func testCheckConfigListsEveryProblemWithPosition() throws {
        let path = try write("admin:\n  listen: nowhere\nlog:\n  levl: info\nroles:\n  teleporter: {}\n")
        let result = try DaemonProcess.run(["check-config", "--config", path])
        XCTAssertEqual(result.status, 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, result.stderr)
        XCTAssertTrue(lines[0].hasPrefix("\(path):2:11: invalid address 'nowhere'"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("\(path):4:3: unknown key 'levl' in log"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("\(path):6:3: unknown role 'teleporter'"), lines[2])
    }

    func testRunWithABadFileExitsOne() throws {
        let path = try write("shutdown_grace: forever\n")
        let result = try DaemonProcess.run(["run", "--config", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(path):1:17: invalid duration 'forever'"), result.stderr)
    }

    func testPortInUseExitsTwoNamingTheAddress() throws {
        let blocker = BlockedPort()
        defer { withExtendedLifetime(blocker) {} }
        let port = blocker.port
        let path = try write("admin:\n  listen: 127.0.0.1:\(port)\n")
        let result = try DaemonProcess.run(["run", "--config", path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("admin.listen 127.0.0.1:\(port): cannot listen: address already in use"), result.stderr)
    }

    func testRunReloadAndStop() throws {
        let path = try write("node:\n  name: e2e\nadmin:\n  listen: 127.0.0.1:0\nshutdown_grace: 2s\n")
        let daemon = try DaemonProcess(["run", "--config", path, "--log-format", "json"])
        let started = try daemon.waitForLine(containing: "outrider started")
        let port = try XCTUnwrap(Self.adminPort(in: started), started)
        XCTAssertTrue(started.hasPrefix("{\"time\":"), "--log-format json applies: \(started)")

        var status = try AdminClient.get(port, "/v1/status")
        XCTAssertEqual(status.status, 200)
        XCTAssertTrue(status.body.contains("\"node\": \"e2e\""), status.body)
        XCTAssertTrue(status.body.contains("\"path\": \"\(path)\""), status.body)
        XCTAssertEqual(try AdminClient.get(port, "/healthz").status, 200)
        var metrics = try AdminClient.get(port, "/metrics").body
        XCTAssertTrue(metrics.contains("process_resident_memory_bytes "), metrics)
        XCTAssertTrue(metrics.contains("process_open_fds "), metrics)
        XCTAssertTrue(metrics.contains("process_start_time_seconds "), metrics)
        XCTAssertTrue(metrics.contains("outrider_config_reloads_total{result=\"success\"} 0"), metrics)

        // A valid new file is applied.
        _ = try write("node:\n  name: e2e\nadmin:\n  listen: 127.0.0.1:0\nshutdown_grace: 3s\nlog:\n  level: debug\n")
        daemon.signal(SIGHUP)
        _ = try daemon.waitForLine(containing: "configuration reloaded")
        metrics = try AdminClient.get(port, "/metrics").body
        XCTAssertTrue(metrics.contains("outrider_config_reloads_total{result=\"success\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("outrider_config_last_reload_success_timestamp_seconds "), metrics)

        // An invalid one changes nothing, is logged with its position and counted.
        _ = try write("node:\n  name: e2e\nadmin:\n  listen: 127.0.0.1:0\nshutdown_grace: never\n")
        daemon.signal(SIGHUP)
        let error = try daemon.waitForLine(containing: "configuration not reloaded")
        XCTAssertTrue(error.contains("\(path):5:17: invalid duration 'never'"), error)
        metrics = try AdminClient.get(port, "/metrics").body
        XCTAssertTrue(metrics.contains("outrider_config_reloads_total{result=\"failure\"} 1"), metrics)
        status = try AdminClient.get(port, "/v1/status")
        XCTAssertTrue(status.body.contains("\"result\": \"failure\""), status.body)
        XCTAssertEqual(try AdminClient.get(port, "/healthz").status, 200, "still serving on the old configuration")

        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.waitForExit(), 0)
        XCTAssertTrue(daemon.stderr.contains { $0.contains("outrider stopped") })
        XCTAssertFalse(daemon.stderr.contains { $0.contains("ERROR") }, daemon.stderr.joined(separator: "\n"))
    }

    /// The port in `admin=127.0.0.1:PORT` of the start line (text or JSON).
    static func adminPort(in line: String) -> Int? {
        guard let range = line.range(of: "127.0.0.1:") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}
