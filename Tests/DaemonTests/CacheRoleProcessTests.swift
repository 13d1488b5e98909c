import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// The cache role through the built binary, from YAML, in front of a real HTTP backend (Python's http.server) on
/// loopback: the second request is served from the disk store.
@Suite struct CacheRoleProcessTests {
    @Test func cacheAndProxyFromTheFile() async throws {
        let directory = try TemporaryDirectory(prefix: "outrider-cache-")
        let backend = try await Self.origin(in: directory)
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
        let backend = try await Self.origin(in: directory)
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

    /// The directory served by the origin: `/page.txt`, modified a day ago (heuristic freshness, RFC 9111 4.2.2),
    /// and `/health/`.
    static func origin(in directory: TemporaryDirectory) async throws -> StaticBackend {
        let www = directory.url.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: www.appendingPathComponent("health"), withIntermediateDirectories: true)
        let page = www.appendingPathComponent("page.txt")
        try "cached page\n".write(to: page, atomically: true, encoding: .utf8)
        try "ok\n".write(to: www.appendingPathComponent("health/index.html"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -86400)], ofItemAtPath: page.path)
        return try await StaticBackend(serving: www)
    }

    /// A configuration with the cache on the S3 server `moto`, its health checked every second, without the
    /// memory tier (what is tested is the S3 store's faults: no copy in memory answers for it).
    static func s3Configuration(moto: MotoServer, secret: String? = nil, backend: StaticBackend) -> String {
        """
        admin:
          listen: 127.0.0.1:0
        roles:
          cache:
            store:
              s3:
                endpoint: http://127.0.0.1:\(moto.port)
                bucket: cache
                access_key: \(moto.credentials.accessKeyID)
                secret_key: \(secret ?? moto.credentials.secretAccessKey)
                health: {interval: 1s}
            store_timeout: 5s
            memory: {max_size: 0}
          proxy:
            listen: ["127.0.0.1:0"]
            sites:
              - pools: ["http://127.0.0.1:\(backend.port)"]
            health: {path: /health/, interval: 200ms}
        """
    }

    /// The value of the sample `name` (without labels) in a Prometheus exposition.
    static func metric(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// The cache on a real S3 server (moto, signatures checked), which is killed mid-run: clients keep getting
    /// whole answers from the backend, the store is reported down in `/v1/status` and the metrics, and once an
    /// S3 server answers at the same address again the cache uses it again.
    @Test func anS3StoreKilledMidRunIsBypassedAndUsedAgainWhenItReturns() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        try await moto.createBucket("cache")
        let directory = try TemporaryDirectory(prefix: "outrider-cache-s3-")
        let backend = try await Self.origin(in: directory)
        let path = directory.path("outrider.yaml")
        try Self.s3Configuration(moto: moto, backend: backend).write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started", timeout: .seconds(30))
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let listening = try await daemon.waitForLine(containing: "proxy listening", timeout: .seconds(30))
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))
        try await eventually { (try? await AdminClient.get(proxyPort, "/v1/health"))?.status == 200 }

        let miss = try await Self.get(proxyPort, "/page.txt")
        #expect(miss.body == "cached page\n")
        try await eventually(timeout: .seconds(30)) { try await Self.get(proxyPort, "/page.txt").cacheStatus?.hasPrefix("outrider; hit") == true }
        #expect(try await AdminClient.get(adminPort, "/v1/status").body.contains("\"store_up\": true"))

        moto.stop()
        // Every request while the store is gone is answered whole, from the backend.
        for _ in 0..<5 {
            let answer = try await Self.get(proxyPort, "/page.txt")
            #expect(answer.status == 200 && answer.body == "cached page\n", "\(answer)")
            #expect(answer.cacheStatus?.contains("fwd=miss") == true, "\(answer)")
        }
        try await eventually(timeout: .seconds(30)) {
            try await AdminClient.get(adminPort, "/v1/status").body.contains("\"store_up\": false")
        }
        // The gauge is set just after the health the status shows.
        try await eventually { Self.metric("outrider_cache_store_up", in: try await AdminClient.get(adminPort, "/metrics").body) == 0 }
        let down = try await Self.get(proxyPort, "/page.txt")
        #expect(down.body == "cached page\n")
        #expect(down.cacheStatus?.hasSuffix("detail=store-down") == true, "\(down)")

        // S3 back where it was (a new moto: its bucket made again, any signature taken): the cache uses it again.
        let again = try await MotoServer.start(port: moto.port, verifyingSignatures: false)
        defer { again.stop() }
        try await again.createBucket("cache")
        try await eventually(timeout: .seconds(30)) {
            try await AdminClient.get(adminPort, "/v1/status").body.contains("\"store_up\": true")
        }
        try await eventually { Self.metric("outrider_cache_store_up", in: try await AdminClient.get(adminPort, "/metrics").body) == 1 }
        try await eventually(timeout: .seconds(30)) { try await Self.get(proxyPort, "/page.txt").cacheStatus?.hasPrefix("outrider; hit") == true }
        #expect(daemon.stderr.contains { $0.contains("cache store is up again") }, "\(daemon.stderr.suffix(20))")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// A wrong secret key: one clear error line in the log and the reason in `/v1/status`; the proxy serves on.
    @Test func badS3CredentialsAreReportedAndTheProxyKeepsServing() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        try await moto.createBucket("cache")
        let directory = try TemporaryDirectory(prefix: "outrider-cache-s3-key-")
        let backend = try await Self.origin(in: directory)
        let path = directory.path("outrider.yaml")
        try Self.s3Configuration(moto: moto, secret: "not-the-secret", backend: backend).write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(["run", "--config", path])
        let started = try await daemon.waitForLine(containing: "outrider started", timeout: .seconds(30))
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let listening = try await daemon.waitForLine(containing: "proxy listening", timeout: .seconds(30))
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: listening))

        let error = try await daemon.waitForLine(containing: "cache store is down", timeout: .seconds(30))
        #expect(error.contains("SignatureDoesNotMatch") && error.contains("check access_key and secret_key"), "\(error)")
        #expect(daemon.stderr.filter { $0.contains("cache store is down") }.count == 1, "\(daemon.stderr)")
        let status = try await AdminClient.get(adminPort, "/v1/status").body
        #expect(status.contains("\"store_up\": false"), "\(status)")
        #expect(status.contains("SignatureDoesNotMatch"), "\(status)")
        try await eventually { Self.metric("outrider_cache_store_up", in: try await AdminClient.get(adminPort, "/metrics").body) == 0 }

        try await eventually { (try? await AdminClient.get(proxyPort, "/v1/health"))?.status == 200 }
        for _ in 0..<3 {
            let answer = try await Self.get(proxyPort, "/page.txt")
            #expect(answer.status == 200 && answer.body == "cached page\n", "\(answer)")
            #expect(answer.cacheStatus?.hasSuffix("detail=store-down") == true, "\(answer)")
        }

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// One GET over a fresh connection, with the response's `Cache-Status`.
    static func get(_ port: Int, _ path: String) async throws -> (body: String, cacheStatus: String?, status: Int) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.timeoutInterval = 30
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return (String(decoding: data, as: UTF8.self), http?.value(forHTTPHeaderField: "Cache-Status"), http?.statusCode ?? 0)
    }
}
