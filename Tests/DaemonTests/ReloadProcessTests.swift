import Foundation
import Testing

/// Reloads of the built binary whose new file cannot be applied in full.
@Suite struct ReloadProcessTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A reload that moves the admin listener to an address in use keeps the old listener, and the old address
    /// stays the configured one: a later reload of the first file changes nothing, so the listener does not move.
    @Test func anAdminAddressInUseKeepsTheOldListenerAndAddress() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("outrider.yaml").path
        let first = "admin:\n  listen: 127.0.0.1:0\nshutdown_grace: 1s\n"
        try first.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try daemon.waitForLine(containing: "outrider started")
        let port = try #require(DaemonProcessTests.adminPort(in: started))

        let blocker = BlockedPort()
        defer { withExtendedLifetime(blocker) {} }
        try "admin:\n  listen: 127.0.0.1:\(blocker.port)\nshutdown_grace: 1s\n".write(toFile: path, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let error = try daemon.waitForLine(containing: "reload: admin.listen")
        #expect(error.contains("admin.listen 127.0.0.1:\(blocker.port): cannot listen: address already in use"), "\(error)")
        let failed = try AdminClient.get(port, "/v1/status").body
        #expect(failed.contains("\"result\": \"failure\""), "\(failed)")

        try first.write(toFile: path, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try ProxyRoleProcessTests.eventually {
            (try? AdminClient.get(port, "/v1/status"))?.body.contains("\"result\": \"success\"") == true
        }
        #expect(try AdminClient.get(port, "/healthz").status == 200, "still served at the first address")

        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)
    }
}
