import Foundation
import Testing

/// Reloads of the built binary whose new file cannot be applied in full.
@Suite struct ReloadProcessTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "outrider-reload-")
    }

    /// A reload that moves the admin listener to an address in use keeps the old listener, and the old address
    /// stays the configured one: a later reload of the first file changes nothing, so the listener does not move.
    @Test func anAdminAddressInUseKeepsTheOldListenerAndAddress() async throws {
        let path = directory.path("outrider.yaml")
        let first = "admin:\n  listen: 127.0.0.1:0\nshutdown_grace: 1s\n"
        try first.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started")
        let port = try #require(DaemonProcess.loopbackPort(in: started))

        let blocker = BlockedPort()
        defer { withExtendedLifetime(blocker) {} }
        try "admin:\n  listen: 127.0.0.1:\(blocker.port)\nshutdown_grace: 1s\n".write(toFile: path, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let error = try await daemon.waitForLine(containing: "reload: admin.listen")
        #expect(error.contains("admin.listen 127.0.0.1:\(blocker.port): cannot listen: address already in use"), "\(error)")
        let failed = try await AdminClient.get(port, "/v1/status").body
        #expect(failed.contains("\"result\": \"failure\""), "\(failed)")

        try first.write(toFile: path, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await eventually {
            (try? await AdminClient.get(port, "/v1/status"))?.body.contains("\"result\": \"success\"") == true
        }
        #expect(try await AdminClient.get(port, "/healthz").status == 200, "still served at the first address")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }
}
