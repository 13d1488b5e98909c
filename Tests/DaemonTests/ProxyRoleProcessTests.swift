import Foundation
import XCTest

/// The proxy role through the built binary: from the YAML file and from sidekick's flags, with a real HTTP
/// backend (Python's http.server) on loopback.
final class ProxyRoleProcessTests: XCTestCase {
    var directory: URL!
    var backend: Process!
    var backendPort = 0

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("www/health"), withIntermediateDirectories: true)
        try "hello from the backend\n".write(to: directory.appendingPathComponent("www/index.html"), atomically: true, encoding: .utf8)
        try "ok\n".write(to: directory.appendingPathComponent("www/health/index.html"), atomically: true, encoding: .utf8)
        backendPort = try Self.freePort()
        backend = Process()
        backend.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        backend.arguments = ["python3", "-m", "http.server", String(backendPort), "--bind", "127.0.0.1", "--directory", directory.appendingPathComponent("www").path]
        backend.standardOutput = FileHandle.nullDevice
        backend.standardError = FileHandle.nullDevice
        try backend.run()
        try Self.waitForListener(port: backendPort)
    }

    override func tearDownWithError() throws {
        backend?.terminate()
        backend?.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    func testProxyFromTheFileWithReloadAndStatus() throws {
        let proxyPort = try Self.freePort()
        let path = directory.appendingPathComponent("outrider.yaml").path
        func write(healthPath: String) throws {
            try """
                admin:
                  listen: 127.0.0.1:0
                roles:
                  proxy:
                    listen: ["127.0.0.1:\(proxyPort)"]
                    sites:
                      - name: local
                        pools: ["http://127.0.0.1:\(backendPort)"]
                    health:
                      path: \(healthPath)
                      interval: 200ms
                      timeout: 1s
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(healthPath: "/health/")
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try daemon.waitForLine(containing: "outrider started")
        let adminPort = try XCTUnwrap(DaemonProcessTests.adminPort(in: started))

        try Self.eventually { (try? AdminClient.get(proxyPort, "/index.html"))?.status == 200 }
        let page = try AdminClient.get(proxyPort, "/index.html")
        XCTAssertEqual(page.body, "hello from the backend\n")
        XCTAssertEqual(try AdminClient.get(proxyPort, "/v1/health").status, 200)

        let status = try AdminClient.get(adminPort, "/v1/status").body
        XCTAssertTrue(status.contains("\"proxy\": {\n      \"state\": \"running\""), status)
        XCTAssertTrue(status.contains("\"endpoint\": \"http://127.0.0.1:\(backendPort)\""), status)
        let metrics = try AdminClient.get(adminPort, "/metrics").body
        XCTAssertTrue(metrics.contains("outrider_proxy_requests_total{"), metrics)
        // Request durations in seconds, with buckets from 5 ms to 10 s.
        let durationBuckets = metrics.split(separator: "\n").filter { $0.hasPrefix("outrider_proxy_request_duration_seconds_bucket{") }
        XCTAssertTrue(durationBuckets.contains { $0.contains("le=\"0.005\"") }, metrics)
        XCTAssertTrue(durationBuckets.contains { $0.contains("le=\"10.0\"") && !$0.hasSuffix(" 0") }, metrics)
        XCTAssertFalse(durationBuckets.contains { $0.contains("le=\"10000.0\"") }, metrics)
        XCTAssertTrue(metrics.contains("outrider_role_up{role=\"proxy\"} 1"), metrics)

        // A health path the backend does not serve: the reload applies in place and the backend goes down.
        try write(healthPath: "/missing")
        daemon.signal(SIGHUP)
        _ = try daemon.waitForLine(containing: "configuration reloaded")
        try Self.eventually { (try? AdminClient.get(proxyPort, "/v1/health"))?.status == 502 }
        XCTAssertEqual(try AdminClient.get(proxyPort, "/index.html").status, 502)
        XCTAssertEqual(daemon.stderr.filter { $0.contains("role started") }.count, 1, "reconfigured in place, not restarted")

        try write(healthPath: "/health/")
        daemon.signal(SIGHUP)
        try Self.eventually { (try? AdminClient.get(proxyPort, "/index.html"))?.status == 200 }

        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.waitForExit(), 0)
    }

    func testSidekickCommandLine() throws {
        let proxyPort = try Self.freePort()
        let daemon = try DaemonProcess([
            "sidekick", "--address", "127.0.0.1:\(proxyPort)", "--health-path", "/health/", "--health-duration", "1",
            "--log", "http://127.0.0.1:\(backendPort)",
        ])
        _ = try daemon.waitForLine(containing: "outrider started")
        try Self.eventually { (try? AdminClient.get(proxyPort, "/index.html"))?.status == 200 }
        XCTAssertEqual(try AdminClient.get(proxyPort, "/index.html").body, "hello from the backend\n")
        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.waitForExit(), 0)

        let unsupported = try DaemonProcess.run(["sidekick", "--trace", "minio", "http://127.0.0.1:\(backendPort)"])
        XCTAssertNotEqual(unsupported.status, 0)
        XCTAssertTrue(unsupported.stderr.contains("--trace minio is not supported"), unsupported.stderr)
        let unknown = try DaemonProcess.run(["sidekick", "--dns-ttl", "5", "http://127.0.0.1:\(backendPort)"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("Unknown option '--dns-ttl'"), unknown.stderr)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard result == 0 else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitForListener(port: Int, timeout: TimeInterval = 10) throws {
        try eventually(timeout: timeout) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        }
    }

    static func eventually(timeout: TimeInterval = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { throw TimedOut(what: "condition not met within \(timeout)s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
