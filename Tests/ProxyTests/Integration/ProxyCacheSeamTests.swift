import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// The proxy through its response-cache seam, with an in-memory cache standing in for the
/// cache role: misses teed into the store, hits served without the backend, revalidation, and
/// a cache that fails or goes away.
@Suite struct ProxyCacheSeamTests {
    /// `GET /page` answers `hello` with an ETag, or 304 to its ETag, or `world` when told to.
    private static func backend(changed: Bool = false) async throws -> ScriptedBackend {
        try await ScriptedBackend.start { head, _ in
            let path = String(head.split(separator: " ")[1])
            if head.lowercased().contains("\r\nif-none-match: \"v1\""), !changed {
                return [.init(bytes: "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n")]
            }
            let body = changed ? "world" : "hello"
            let etag = changed ? "\"v2\"" : "\"v1\""
            return [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nETag: \(etag)\r\nX-Path: \(path)\r\n\r\n\(body)")]
        }
    }

    private func proxy(_ backend: ScriptedBackend, cache: TestResponseCache) async throws -> ProxyHarness {
        let proxy = try await ProxyHarness.start(backend)
        await proxy.server.setResponseCache(cache)
        return proxy
    }

    @Test func missIsTeedIntoTheStoreAndTheNextRequestIsServedFromIt() async throws {
        let backend = try await Self.backend()
        let cache = TestResponseCache()
        let proxy = try await proxy(backend, cache: cache)
        let first = try await TestClient.get(port: proxy.port, "/page")
        #expect(String(buffer: first.body) == "hello")
        try await eventually { cache.entry("/page") != nil }
        #expect(String(buffer: cache.entry("/page")!.body) == "hello")
        // Served from the store, twice over one connection, the backend not asked again.
        let client = try await TestClient.connect(port: proxy.port)
        for _ in 0..<2 {
            let hit = try await client.send(.GET, "/page")
            #expect(hit.status == .ok)
            #expect(String(buffer: hit.body) == "hello")
            #expect(hit.head.headers["etag"] == ["\"v1\""])
        }
        await client.close()
        #expect(backend.requests.flatMap { $0 }.count == 1)
        await proxy.stop()
        await backend.stop()
    }

    @Test func headIsServedFromTheStoreWithoutABody() async throws {
        let backend = try await Self.backend()
        let cache = TestResponseCache()
        let proxy = try await proxy(backend, cache: cache)
        _ = try await TestClient.get(port: proxy.port, "/page")
        try await eventually { cache.entry("/page") != nil }
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("HEAD /page HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(client.text)")
        #expect(client.text.hasSuffix("\r\n\r\n"))
        #expect(backend.requests.flatMap { $0 }.count == 1)
        await proxy.stop()
        await backend.stop()
    }

    /// RFC 9111 4.3: a stale entry is revalidated with its validator; a 304 serves it.
    @Test func staleEntryConfirmedBy304IsServed() async throws {
        let backend = try await Self.backend()
        let cache = TestResponseCache()
        let proxy = try await proxy(backend, cache: cache)
        _ = try await TestClient.get(port: proxy.port, "/page")
        try await eventually { cache.entry("/page") != nil }
        cache.markStale("/page")
        let revalidated = try await TestClient.get(port: proxy.port, "/page")
        #expect(revalidated.status == .ok)
        #expect(String(buffer: revalidated.body) == "hello")
        #expect(cache.revalidated == 1)
        #expect(cache.entry("/page")?.stale == false)
        let heads = backend.requests.flatMap { $0 }
        #expect(heads.count == 2)
        #expect(heads.last?.lowercased().contains("\r\nif-none-match: \"v1\"") == true, "\(heads)")
        await proxy.stop()
        await backend.stop()
    }

    @Test func staleEntryReplacedByANewResponse() async throws {
        let cache = TestResponseCache()
        let first = try await Self.backend()
        let proxy = try await proxy(first, cache: cache)
        _ = try await TestClient.get(port: proxy.port, "/page")
        try await eventually { cache.entry("/page") != nil }
        cache.markStale("/page")
        let changed = try await Self.backend(changed: true)
        let site = try #require(proxy.server.status().sites.first)
        try await proxy.server.replaceBackends(ofSite: "site1", with: [changed.url])
        #expect(site.backends.count == 1)
        try await eventually { proxy.onlineCount() == 1 && proxy.server.status().sites[0].backends[0].endpoint == changed.url }
        let fresh = try await TestClient.get(port: proxy.port, "/page")
        #expect(String(buffer: fresh.body) == "world")
        try await eventually { cache.entry("/page").map { String(buffer: $0.body) } == "world" }
        #expect(cache.revalidated == 0)
        await proxy.stop()
        await first.stop()
        await changed.stop()
    }

    @Test func failingLookupAndBypassAreProxied() async throws {
        let backend = try await Self.backend()
        let cache = TestResponseCache()
        let proxy = try await proxy(backend, cache: cache)
        for path in ["/fail", "/bypass", "/bypass"] {
            let response = try await TestClient.get(port: proxy.port, path)
            #expect(String(buffer: response.body) == "hello")
            #expect(response.head.headers["x-path"] == [path])
        }
        #expect(cache.entry("/bypass") == nil)
        #expect(backend.requests.flatMap { $0 }.count == 3)
        await proxy.stop()
        await backend.stop()
    }

    @Test func cacheRemovedAppliesToTheNextRequest() async throws {
        let backend = try await Self.backend()
        let cache = TestResponseCache()
        let proxy = try await proxy(backend, cache: cache)
        _ = try await TestClient.get(port: proxy.port, "/page")
        try await eventually { cache.entry("/page") != nil }
        await proxy.server.setResponseCache(nil)
        let client = try await TestClient.connect(port: proxy.port)
        _ = try await client.send(.GET, "/page")
        _ = try await client.send(.POST, "/page", body: ByteBuffer(string: "x"))
        await client.close()
        #expect(backend.requests.flatMap { $0 }.count == 3)
        await proxy.stop()
        await backend.stop()
    }
}
