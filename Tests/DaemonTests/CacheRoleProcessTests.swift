import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The cache role through the built binary, from YAML, in front of a real HTTP backend (Python's http.server) on
/// loopback: the second request is served from the disk store.
@Suite struct CacheRoleProcessTests {
    @Test func cacheAndProxyFromTheFile() async throws {
        let directory = try TemporaryDirectory(prefix: "outrider-cache-")
        let www = directory.url.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: www.appendingPathComponent("health"), withIntermediateDirectories: true)
        let page = www.appendingPathComponent("page.txt")
        try "cached page\n".write(to: page, atomically: true, encoding: .utf8)
        try "ok\n".write(to: www.appendingPathComponent("health/index.html"), atomically: true, encoding: .utf8)
        // Modified a day ago: heuristic freshness (RFC 9111 4.2.2) of 10% of that, 2.4 hours.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -86400)], ofItemAtPath: page.path)
        let backend = try await StaticBackend(serving: www)
        let path = directory.path("outrider.yaml")
        try """
            admin:
              listen: 127.0.0.1:0
            roles:
              cache:
                store:
                  disk: {path: \(directory.path("cache")), max_size: 64MiB}
              proxy:
                listen: ["127.0.0.1:0"]
                sites:
                  - pools: ["http://127.0.0.1:\(backend.port)"]
                health: {path: /health/, interval: 200ms}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started")
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let listening = try await daemon.waitForLine(containing: "proxy listening")
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))
        try await eventually { (try? await AdminClient.get(proxyPort, "/v1/health"))?.status == 200 }

        let miss = try await Self.get(proxyPort, "/page.txt")
        #expect(miss.body == "cached page\n")
        #expect(miss.cacheStatus?.hasPrefix("outrider; fwd=uri-miss; fwd-status=200; stored") == true, "\(miss)")
        try await eventually { try await Self.get(proxyPort, "/page.txt").cacheStatus?.hasPrefix("outrider; hit") == true }

        let before = try await AdminClient.get(adminPort, "/v1/cache/stats").body
        #expect(before.contains("\"store_up\": true"), "\(before)")
        #expect(before.contains("\"objects\": 1"), "\(before)")
        // The memory tier holds the page too (from the fill, or from the first hit's read of the store), and
        // answers the next hit.
        #expect(try await Self.get(proxyPort, "/page.txt").cacheStatus?.hasPrefix("outrider; hit") == true)
        let stats = try await AdminClient.get(adminPort, "/v1/cache/stats").body
        let memory = (try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])?["memory"] as? [String: Any]
        #expect((memory?["objects"] as? NSNumber)?.intValue == 1, "\(stats)")
        #expect(((memory?["hits"] as? NSNumber)?.intValue ?? 0) >= 1, "\(stats)")
        let status = try await AdminClient.get(adminPort, "/v1/status").body
        #expect(status.contains("\"cache\": {"), "\(status)")
        let metrics = try await AdminClient.get(adminPort, "/metrics").body
        #expect(metrics.contains("outrider_cache_requests_total{result=\"hit\"}"), "\(metrics)")

        // Purged by prefix: the next request is a miss again.
        var purge = URLRequest(url: URL(string: "http://127.0.0.1:\(adminPort)/v1/cache/purge?prefix=http://127.0.0.1:\(proxyPort)/")!)
        purge.httpMethod = "POST"
        let (purged, _) = try await URLSession.shared.data(for: purge)
        #expect(String(decoding: purged, as: UTF8.self).contains("\"purged\": 1"), "\(String(decoding: purged, as: UTF8.self))")
        #expect(try await Self.get(proxyPort, "/page.txt").cacheStatus?.contains("fwd=uri-miss") == true)

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// SIGHUP with another store: the next requests go to the new store, the proxy is not restarted.
    @Test func aReloadMovesToANewStoreInPlace() async throws {
        let directory = try TemporaryDirectory(prefix: "outrider-cache-reload-")
        let www = directory.url.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: www.appendingPathComponent("health"), withIntermediateDirectories: true)
        let page = www.appendingPathComponent("page.txt")
        try "page\n".write(to: page, atomically: true, encoding: .utf8)
        try "ok\n".write(to: www.appendingPathComponent("health/index.html"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -86400)], ofItemAtPath: page.path)
        let backend = try await StaticBackend(serving: www)
        let path = directory.path("outrider.yaml")
        func write(store: String) throws {
            try """
                admin:
                  listen: 127.0.0.1:0
                roles:
                  cache:
                    store:
                      disk: {path: \(directory.path(store)), max_size: 64MiB}
                  proxy:
                    listen: ["127.0.0.1:0"]
                    sites:
                      - pools: ["http://127.0.0.1:\(backend.port)"]
                    health: {path: /health/, interval: 200ms}
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(store: "one")
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started")
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let listening = try await daemon.waitForLine(containing: "proxy listening")
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))
        try await eventually { (try? await AdminClient.get(proxyPort, "/v1/health"))?.status == 200 }
        _ = try await Self.get(proxyPort, "/page.txt")
        try await eventually { try await Self.get(proxyPort, "/page.txt").cacheStatus?.hasPrefix("outrider; hit") == true }

        try write(store: "two")
        daemon.signal(SIGHUP)
        _ = try await daemon.waitForLine(containing: "configuration reloaded")
        // The new store is empty: a miss, stored there.
        let miss = try await Self.get(proxyPort, "/page.txt")
        #expect(miss.cacheStatus?.contains("fwd=uri-miss") == true, "\(miss)")
        try await eventually { try await Self.get(proxyPort, "/page.txt").cacheStatus?.hasPrefix("outrider; hit") == true }
        let stats = try await AdminClient.get(adminPort, "/v1/cache/stats").body
        #expect(stats.contains(directory.path("two")), "\(stats)")
        #expect(daemon.stderr.filter { $0.contains("proxy listening") }.count == 1, "the proxy was not restarted")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// One GET over a fresh connection, with the response's `Cache-Status`.
    static func get(_ port: Int, _ path: String) async throws -> (body: String, cacheStatus: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.cachePolicy = .reloadIgnoringLocalCacheData
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Cache-Status")
        return (String(decoding: data, as: UTF8.self), status)
    }
}
