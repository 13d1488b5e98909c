import Foundation
import Testing

/// The proxy role through the built binary: from the YAML file and from sidekick's flags, with a real HTTP
/// backend (Python's http.server) on loopback.
@Suite struct ProxyRoleProcessTests {
    let directory: TemporaryDirectory
    let backend: StaticBackend

    init() async throws {
        directory = try TemporaryDirectory(prefix: "outrider-proxy-")
        let www = directory.url.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: www.appendingPathComponent("health"), withIntermediateDirectories: true)
        try "hello from the backend\n".write(to: www.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try "ok\n".write(to: www.appendingPathComponent("health/index.html"), atomically: true, encoding: .utf8)
        backend = try await StaticBackend(serving: www)
    }

    @Test func proxyFromTheFileWithReloadAndStatus() async throws {
        let path = directory.path("outrider.yaml")
        let backendPort = backend.port
        func write(healthPath: String) throws {
            try """
                admin:
                  listen: 127.0.0.1:0
                roles:
                  proxy:
                    listen: ["127.0.0.1:0"]
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
        let started = try await daemon.waitForLine(containing: "outrider started")
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let listening = try await daemon.waitForLine(containing: "proxy listening")
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))

        try await eventually { (try? await AdminClient.get(proxyPort, "/index.html"))?.status == 200 }
        let page = try await AdminClient.get(proxyPort, "/index.html")
        #expect(page.body == "hello from the backend\n")
        #expect(try await AdminClient.get(proxyPort, "/v1/health").status == 200)

        let status = try await AdminClient.get(adminPort, "/v1/status").body
        #expect(status.contains("\"proxy\": {\n      \"state\": \"running\""), "\(status)")
        #expect(status.contains("\"endpoint\": \"http://127.0.0.1:\(backendPort)\""), "\(status)")
        let metrics = try await AdminClient.get(adminPort, "/metrics").body
        #expect(metrics.contains("outrider_proxy_requests_total{"), "\(metrics)")
        // Request durations in seconds, with buckets from 5 ms to 10 s.
        let durationBuckets = metrics.split(separator: "\n").filter { $0.hasPrefix("outrider_proxy_request_duration_seconds_bucket{") }
        #expect(durationBuckets.contains { $0.contains("le=\"0.005\"") }, "\(metrics)")
        #expect(durationBuckets.contains { $0.contains("le=\"10.0\"") && !$0.hasSuffix(" 0") }, "\(metrics)")
        #expect(!durationBuckets.contains { $0.contains("le=\"10000.0\"") }, "\(metrics)")
        #expect(metrics.contains("outrider_role_up{role=\"proxy\"} 1"), "\(metrics)")

        // A health path the backend does not serve: the reload applies in place and the backend goes down.
        try write(healthPath: "/missing")
        daemon.signal(SIGHUP)
        _ = try await daemon.waitForLine(containing: "configuration reloaded")
        try await eventually { (try? await AdminClient.get(proxyPort, "/v1/health"))?.status == 502 }
        #expect(try await AdminClient.get(proxyPort, "/index.html").status == 502)
        #expect(daemon.stderr.filter { $0.contains("role started") }.count == 1, "reconfigured in place, not restarted")

        try write(healthPath: "/health/")
        daemon.signal(SIGHUP)
        try await eventually { (try? await AdminClient.get(proxyPort, "/index.html"))?.status == 200 }
        // The port read at the start is still the proxy's only because a reload keeps a listener whose settings
        // (port 0 included) have not changed, rather than binding a new port.
        #expect(daemon.stderr.filter { $0.contains("proxy listening") }.count == 1, "\(daemon.stderr)")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test func sidekickCommandLine() async throws {
        let daemon = try DaemonProcess([
            "sidekick", "--address", "127.0.0.1:0", "--health-path", "/health/", "--health-duration", "1",
            "--log", "http://127.0.0.1:\(backend.port)",
        ])
        _ = try await daemon.waitForLine(containing: "outrider started")
        let listening = try await daemon.waitForLine(containing: "proxy listening")
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))
        try await eventually { (try? await AdminClient.get(proxyPort, "/index.html"))?.status == 200 }
        #expect(try await AdminClient.get(proxyPort, "/index.html").body == "hello from the backend\n")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)

        let unsupported = try DaemonProcess.run(["sidekick", "--trace", "minio", "http://127.0.0.1:\(backend.port)"])
        #expect(unsupported.status != 0)
        #expect(unsupported.stderr.contains("--trace minio is not supported"), "\(unsupported.stderr)")
        let unknown = try DaemonProcess.run(["sidekick", "--dns-ttl", "5", "http://127.0.0.1:\(backend.port)"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("Unknown option '--dns-ttl'"), "\(unknown.stderr)")
    }
}
