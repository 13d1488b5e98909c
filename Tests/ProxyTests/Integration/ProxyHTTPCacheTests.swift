import Logging
import MetricsTestKit
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import Proxy

/// The HTTP cache on a disk store, through the real proxy, in front of a real origin on
/// loopback that counts its requests; the cache's clock is a manual one.
@Suite struct ProxyHTTPCacheTests {
    /// The cache's wall clock, moved by the test.
    final class ManualClock: Sendable {
        let seconds = NIOLockedValueBox(1_767_225_600)
        func advance(_ delta: Int) { seconds.withLockedValue { $0 += delta } }
        var now: Int { seconds.withLockedValue { $0 } }
    }

    struct Setup {
        let backend: ScriptedBackend
        let proxy: ProxyHarness
        let cache: HTTPCache
        let store: DiskStore
        let clock: ManualClock
        let directory: String

        var backendRequests: [String] { backend.requests.flatMap { $0 } }

        func get(_ uri: String, _ headers: HTTPHeaders = [:], method: HTTPMethod = .GET) async throws -> TestResponse {
            try await TestClient.get(port: proxy.port, uri, method: method, headers: headers)
        }

        func stop() async {
            await proxy.stop()
            await backend.stop()
            try? await store.shutdown().get()
            DiskStoreTests.removeDirectory(directory)
        }
    }

    static func start(
        settings: HTTPCache.Settings = HTTPCache.Settings(),
        directory: String? = nil,
        memory: Bool = false,
        _ script: @escaping ScriptedBackend.Script
    ) async throws -> Setup {
        let backend = try await ScriptedBackend.start(script)
        let proxy = try await ProxyHarness.start(backend)
        let directory = directory ?? DiskStoreTests.temporaryDirectory()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let store = try await DiskStore.open(path: directory, maxSize: 1 << 30, on: loop).get()
        let clock = ManualClock()
        var logger = Logger(label: "cache-test")
        logger.logLevel = .critical
        let tiered: any CacheStore = memory ? MemoryTier(store: store, maxSize: 1 << 20, maxObjectSize: 64 << 10) : store
        let cache = HTTPCache(store: tiered, settings: settings, metrics: CacheMetrics(factory: TestMetrics()), logger: logger, clock: { clock.now })
        await proxy.server.setResponseCache(cache)
        return Setup(backend: backend, proxy: proxy, cache: cache, store: store, clock: clock, directory: directory)
    }

    static func response(_ body: String, _ fields: String, status: String = "200 OK") -> [ScriptedBackend.Chunk] {
        [.init(bytes: "HTTP/1.1 \(status)\r\nContent-Length: \(body.utf8.count)\r\n\(fields)\r\n\(body)")]
    }

    /// Waits until the cache has stored what it teed (its commit runs after the response), and every fill is
    /// over (a response with `Vary` commits the list of its fields after the variant).
    static func stored(_ setup: Setup, objects: Int) async throws {
        try await eventually { setup.store.usage.objects >= objects && setup.cache.flightCount == 0 }
    }

    @Test func eachResultIsCountedUnderItsOwnLabel() {
        let metrics = TestMetrics()
        let cache = CacheMetrics(factory: metrics)
        for (position, result) in CacheMetrics.Result.allCases.enumerated() {
            for _ in 0...position { cache.count(result) }
        }
        for (position, result) in CacheMetrics.Result.allCases.enumerated() {
            #expect(cache.snapshot.results[result.index] == position + 1, "\(result)")
            let counter = metrics.counters(label: "requests_total", dimensions: [("result", result.rawValue)]).first
            #expect(counter?.totalValue == Int64(position + 1), "\(result)")
        }
        for (position, outcome) in CacheMetrics.Background.allCases.enumerated() {
            for _ in 0...position { cache.count(background: outcome) }
        }
        for (position, outcome) in CacheMetrics.Background.allCases.enumerated() {
            #expect(cache.snapshot.background[outcome.index] == position + 1, "\(outcome)")
            let counter = metrics.counters(label: "background_revalidations_total", dimensions: [("result", outcome.rawValue)]).first
            #expect(counter?.totalValue == Int64(position + 1), "\(outcome)")
        }
    }

    @Test func aMissIsStoredAndTheNextRequestIsAHitWithAge() async throws {
        let setup = try await Self.start { _, _ in Self.response("hello", "Cache-Control: max-age=60\r\n") }
        let miss = try await setup.get("/a?x=1&y=2")
        #expect(String(buffer: miss.body) == "hello")
        #expect(miss.head.headers.first(name: "cache-status") == "outrider; fwd=uri-miss; fwd-status=200; stored")
        try await Self.stored(setup, objects: 1)
        setup.clock.advance(7)
        let hit = try await setup.get("/a?x=1&y=2")
        #expect(String(buffer: hit.body) == "hello")
        #expect(hit.head.headers.first(name: "cache-status") == "outrider; hit; ttl=53")
        #expect(hit.head.headers.first(name: "age") == "7")
        // The query in another order is another key.
        _ = try await setup.get("/a?y=2&x=1")
        #expect(setup.backendRequests.count == 2)
        // HEAD from the stored GET.
        let head = try await setup.get("/a?x=1&y=2", method: .HEAD)
        #expect(head.head.headers.first(name: "content-length") == "5")
        #expect(setup.backendRequests.count == 2)
        await setup.stop()
    }

    /// A copy in the memory tier is answered and written at once: whole, as a range, as a `HEAD` and as a `304`,
    /// over one keep-alive connection, each response framed right for the next to be read.
    @Test func hitsOnAMemoryCopyAreServedWholeRangedHeadAndNotModified() async throws {
        let body = String(repeating: "0123456789", count: 300)
        let setup = try await Self.start(memory: true) { _, _ in Self.response(body, "ETag: \"m1\"\r\nCache-Control: max-age=60\r\n") }
        _ = try await setup.get("/m")
        try await Self.stored(setup, objects: 1)
        let tier = try #require(setup.cache.store as? MemoryTier)
        try await eventually { tier.memoryUsage.objects == 1 }
        let client = try await TestClient.connect(port: setup.proxy.port)
        let whole = try await client.send(.GET, "/m")
        #expect(String(buffer: whole.body) == body)
        #expect(whole.head.headers.first(name: "content-length") == "3000")
        #expect(whole.head.headers.first(name: "cache-status") == "outrider; hit; ttl=60")
        let ranged = try await client.send(.GET, "/m", headers: ["Range": "bytes=10-19"])
        #expect(ranged.status == .partialContent)
        #expect(String(buffer: ranged.body) == "0123456789")
        let head = try await client.send(.HEAD, "/m")
        #expect(head.head.headers.first(name: "content-length") == "3000")
        #expect(head.body.readableBytes == 0)
        let notModified = try await client.send(.GET, "/m", headers: ["If-None-Match": "\"m1\""])
        #expect(notModified.status == .notModified)
        let again = try await client.send(.GET, "/m")
        #expect(String(buffer: again.body) == body)
        await client.close()
        #expect(tier.memoryUsage.hits >= 5)
        #expect(setup.backendRequests.count == 1)
        await setup.stop()
    }

    @Test func uncacheableResponsesAreNotStored() async throws {
        let setup = try await Self.start { head, _ in
            head.contains("/private") ? Self.response("p", "Cache-Control: private, max-age=60\r\n") : Self.response("n", "Cache-Control: no-store\r\n")
        }
        let first = try await setup.get("/private")
        #expect(first.head.headers.first(name: "cache-status") == "outrider; fwd=uri-miss; fwd-status=200; detail=private")
        _ = try await setup.get("/private")
        _ = try await setup.get("/nostore")
        _ = try await setup.get("/nostore")
        #expect(setup.backendRequests.count == 4)
        #expect(setup.store.usage.objects == 0)
        await setup.stop()
    }

    @Test func aStaleEntryIsRevalidatedAndA304ServesAndRefreshesIt() async throws {
        let setup = try await Self.start { head, _ in
            if head.lowercased().contains("if-none-match: \"v1\"") {
                return [.init(bytes: "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=100\r\nX-New: yes\r\n\r\n")]
            }
            return Self.response("body-v1", "ETag: \"v1\"\r\nCache-Control: max-age=10\r\n")
        }
        _ = try await setup.get("/r")
        try await Self.stored(setup, objects: 1)
        setup.clock.advance(20)
        let revalidated = try await setup.get("/r")
        #expect(revalidated.status == .ok)
        #expect(String(buffer: revalidated.body) == "body-v1")
        #expect(revalidated.head.headers.first(name: "cache-status") == "outrider; fwd=stale; fwd-status=304")
        #expect(revalidated.head.headers.first(name: "x-new") == "yes")
        #expect(setup.backendRequests.last?.lowercased().contains("if-none-match: \"v1\"") == true)
        // The 304's max-age=100 now applies to the stored response.
        try await eventually {
            let hit = try await setup.get("/r")
            return hit.head.headers.first(name: "cache-status")?.hasPrefix("outrider; hit") == true
        }
        #expect(setup.backendRequests.count == 2)
        // A client's own conditional request is answered 304 from the fresh entry.
        let conditional = try await setup.get("/r", ["if-none-match": "\"v1\""])
        #expect(conditional.status == .notModified)
        #expect(conditional.body.readableBytes == 0)
        #expect(setup.backendRequests.count == 2)
        await setup.stop()
    }

    @Test func varySelectsTheStoredVariant() async throws {
        let setup = try await Self.start { head, _ in
            let gzip = head.lowercased().contains("accept-encoding: gzip")
            return Self.response(gzip ? "zipped" : "plain", "Cache-Control: max-age=60\r\nVary: Accept-Encoding\r\n")
        }
        #expect(String(buffer: try await setup.get("/v", ["accept-encoding": "gzip"]).body) == "zipped")
        try await Self.stored(setup, objects: 2)  // the variant and the URI's marker
        let hitGzip = try await setup.get("/v", ["accept-encoding": "gzip"])
        #expect(String(buffer: hitGzip.body) == "zipped")
        #expect(hitGzip.head.headers.first(name: "cache-status")?.hasPrefix("outrider; hit") == true)
        let other = try await setup.get("/v", ["accept-encoding": "identity"])
        #expect(String(buffer: other.body) == "plain")
        #expect(other.head.headers.first(name: "cache-status") == "outrider; fwd=vary-miss; fwd-status=200; stored")
        try await Self.stored(setup, objects: 3)
        #expect(String(buffer: try await setup.get("/v", ["accept-encoding": "identity"]).body) == "plain")
        #expect(String(buffer: try await setup.get("/v", ["accept-encoding": "gzip"]).body) == "zipped")
        #expect(setup.backendRequests.count == 2)
        await setup.stop()
    }

    /// A purge of a URL removes every `Vary` variant stored for it, not only the list of its `Vary` fields (left
    /// behind, an old variant would be served again once a new response stored the list again); other URLs stay.
    @Test func purgingAURLRemovesEveryVariant() async throws {
        let version = NIOLockedValueBox(1)
        let setup = try await Self.start { head, _ in
            let gzip = head.lowercased().contains("accept-encoding: gzip")
            let current = version.withLockedValue { $0 }
            if head.contains(" /kept ") { return Self.response("kept\(current)", "Cache-Control: max-age=60\r\n") }
            return Self.response("\(gzip ? "zipped" : "plain")\(current)", "Cache-Control: max-age=60\r\nVary: Accept-Encoding\r\n")
        }
        _ = try await setup.get("/v", ["accept-encoding": "gzip"])
        try await Self.stored(setup, objects: 2)
        _ = try await setup.get("/v", ["accept-encoding": "identity"])
        _ = try await setup.get("/kept")
        try await Self.stored(setup, objects: 4)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(try await setup.cache.purge(uri: "http://proxy.test/v", on: loop).get() == 3)
        #expect(setup.store.usage.objects == 1)
        version.withLockedValue { $0 = 2 }
        #expect(String(buffer: try await setup.get("/v", ["accept-encoding": "gzip"]).body) == "zipped2")
        try await Self.stored(setup, objects: 3)
        let identity = try await setup.get("/v", ["accept-encoding": "identity"])
        #expect(String(buffer: identity.body) == "plain2")
        #expect(identity.head.headers.first(name: "cache-status")?.contains("fwd=vary-miss") == true)
        #expect(String(buffer: try await setup.get("/kept").body) == "kept1")
        // An unsafe request invalidates the variants the same way (RFC 9111 4.4).
        try await Self.stored(setup, objects: 4)
        _ = try await setup.get("/v", method: .POST)
        try await eventually { setup.store.usage.objects == 1 }
        // By prefix (the disk store reads each object's URI), variants included.
        _ = try await setup.get("/v", ["accept-encoding": "gzip"])
        try await Self.stored(setup, objects: 3)
        #expect(try await setup.cache.purge(prefix: "http://proxy.test/v", on: loop)?.get() == 2)
        #expect(setup.store.usage.objects == 1)
        await setup.stop()
    }

    @Test func rangesAreServedFromTheStoredObject() async throws {
        let body = String((0..<100).map { Character(UnicodeScalar(UInt8(65 + $0 % 26))) })
        let setup = try await Self.start { _, _ in Self.response(body, "Cache-Control: max-age=60\r\nETag: \"r\"\r\n") }
        _ = try await setup.get("/range")
        try await Self.stored(setup, objects: 1)
        let partial = try await setup.get("/range", ["range": "bytes=10-19"])
        #expect(partial.status == .partialContent)
        #expect(partial.head.headers.first(name: "content-range") == "bytes 10-19/100")
        #expect(String(buffer: partial.body) == String(body.dropFirst(10).prefix(10)))
        let suffix = try await setup.get("/range", ["range": "bytes=-5"])
        #expect(String(buffer: suffix.body) == String(body.suffix(5)))
        let unsatisfiable = try await setup.get("/range", ["range": "bytes=200-"])
        #expect(unsatisfiable.status == .rangeNotSatisfiable)
        #expect(unsatisfiable.head.headers.first(name: "content-range") == "bytes */100")
        #expect(setup.backendRequests.count == 1)
        await setup.stop()
    }

    @Test func aSuccessfulPostInvalidatesTheTargetAndItsLocation() async throws {
        let setup = try await Self.start { head, _ in
            if head.hasPrefix("POST") {
                return Self.response("", "Location: /other\r\n", status: "201 Created")
            }
            return Self.response("x", "Cache-Control: max-age=60\r\n")
        }
        _ = try await setup.get("/item")
        _ = try await setup.get("/other")
        try await Self.stored(setup, objects: 2)
        _ = try await setup.get("/item", method: .POST)
        try await eventually { setup.store.usage.objects == 0 }
        let again = try await setup.get("/item")
        #expect(again.head.headers.first(name: "cache-status")?.contains("fwd=uri-miss") == true)
        _ = try await setup.get("/other")
        #expect(setup.backendRequests.filter { $0.hasPrefix("GET") }.count == 4)
        await setup.stop()
    }

    @Test func concurrentMissesAreCoalescedIntoOneBackendRequest() async throws {
        let setup = try await Self.start { _, _ in
            [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nCache-Control: max-age=60\r\n\r\nherd", delay: .milliseconds(300))]
        }
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { String(buffer: try await setup.get("/herd").body) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(bodies == Array(repeating: "herd", count: 8))
        #expect(setup.backendRequests.count == 1)
        await setup.stop()
    }

    /// A miss whose fill the proxy drops without ending it (its client left before the cache answered) does not
    /// leave the URI coalescing on a fill that will never come.
    @Test func aDroppedFillEndsItsFlight() async throws {
        let setup = try await Self.start { _, _ in Self.response("x", "Cache-Control: max-age=60\r\n") }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let request = CacheRequest(method: .GET, target: "/dropped", headers: ["host": "t"])
        do {
            let lookup = try await setup.cache.lookup(request, on: loop).get()
            guard case .miss = lookup else {
                Issue.record("expected a miss, got \(lookup)")
                return
            }
            #expect(setup.cache.flightCount == 1)
        }
        try await eventually { setup.cache.flightCount == 0 }
        await setup.stop()
    }

    @Test func onlyIfCachedIs504WhenNothingIsStored() async throws {
        let setup = try await Self.start { _, _ in Self.response("x", "Cache-Control: max-age=60\r\n") }
        let answer = try await setup.get("/none", ["cache-control": "only-if-cached"])
        #expect(answer.status == .gatewayTimeout)
        #expect(setup.backendRequests.isEmpty)
        await setup.stop()
    }

    @Test func staleIfErrorServesTheStoredResponseWhenTheBackendFails() async throws {
        let failing = NIOLockedValueBox(false)
        let setup = try await Self.start { _, _ in
            if failing.withLockedValue({ $0 }) {
                return Self.response("oops", "", status: "503 Service Unavailable")
            }
            return Self.response("good", "Cache-Control: max-age=10, stale-if-error=600\r\nETag: \"g\"\r\n")
        }
        _ = try await setup.get("/sie")
        try await Self.stored(setup, objects: 1)
        failing.withLockedValue { $0 = true }
        setup.clock.advance(60)
        let stale = try await setup.get("/sie")
        #expect(stale.status == .ok)
        #expect(String(buffer: stale.body) == "good")
        #expect(stale.head.headers.first(name: "cache-status") == "outrider; fwd=stale; fwd-status=503; detail=stale-if-error")
        // Past the window the error goes through.
        setup.clock.advance(1000)
        #expect(try await setup.get("/sie").status == .serviceUnavailable)
        await setup.stop()
    }

    /// RFC 5861 3: within `stale-while-revalidate` the stale response is served at once and one background
    /// request revalidates it; its `304` refreshes the stored response, and the next requests are fresh hits.
    @Test func staleWhileRevalidateServesStaleAndRevalidatesInTheBackground() async throws {
        let setup = try await Self.start { head, _ in
            if head.lowercased().contains("if-none-match: \"w1\"") {
                return [.init(bytes: "HTTP/1.1 304 Not Modified\r\nETag: \"w1\"\r\nCache-Control: max-age=1000\r\nX-Refreshed: yes\r\n\r\n")]
            }
            return Self.response("body-w1", "ETag: \"w1\"\r\nCache-Control: max-age=10, stale-while-revalidate=100\r\n")
        }
        _ = try await setup.get("/swr")
        try await Self.stored(setup, objects: 1)
        setup.clock.advance(20)
        let stale = try await setup.get("/swr")
        #expect(stale.status == .ok)
        #expect(String(buffer: stale.body) == "body-w1")
        #expect(stale.head.headers.first(name: "cache-status") == "outrider; hit; ttl=-10; detail=stale-while-revalidate")
        #expect(stale.head.headers.first(name: "x-refreshed") == nil)
        // The revalidation comes after the stale response, from the proxy itself.
        try await eventually { setup.backendRequests.count == 2 }
        #expect(setup.backendRequests.last?.lowercased().contains("if-none-match: \"w1\"") == true)
        try await eventually { setup.cache.flightCount == 0 }
        // Past the old window, the 304's max-age=1000 holds: a fresh hit with the 304's fields.
        setup.clock.advance(200)
        let fresh = try await setup.get("/swr")
        #expect(String(buffer: fresh.body) == "body-w1")
        #expect(fresh.head.headers.first(name: "cache-status")?.hasPrefix("outrider; hit; ttl=") == true)
        #expect(fresh.head.headers.first(name: "cache-status")?.contains("detail") == false)
        #expect(fresh.head.headers.first(name: "x-refreshed") == "yes")
        #expect(setup.backendRequests.count == 2)
        #expect(setup.cache.statistics.results["stale"] == 1)
        #expect(setup.cache.statistics.results["hit"] == 1)
        await setup.stop()
    }

    /// While a background revalidation is in flight, further stale requests are served stale without starting
    /// another (one per stored response); one without validators is fetched again, and its `200` replaces it.
    @Test func staleWhileRevalidateSendsOneBackgroundRequestAndA200ReplacesTheEntry() async throws {
        let version = NIOLockedValueBox(1)
        // A commit slower than the default store timeout (an fsync on a loaded machine) would leave the stale
        // response in place and let a later request revalidate again: this test counts revalidations, not timeouts.
        let setup = try await Self.start(settings: HTTPCache.Settings(storeTimeout: .seconds(30))) { _, _ in
            let current = version.withLockedValue { $0 }
            // The refetch answers late, so the stale requests below find it in flight (if they come later,
            // they are fresh hits: the count asserted holds either way).
            return [
                .init(
                    bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: max-age=10, stale-while-revalidate=100\r\n\r\nv\(current)",
                    delay: current == 1 ? .zero : .seconds(2)
                )
            ]
        }
        _ = try await setup.get("/refetch")
        try await Self.stored(setup, objects: 1)
        version.withLockedValue { $0 = 2 }
        setup.clock.advance(20)
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 {
                group.addTask { String(buffer: try await setup.get("/refetch").body) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(bodies.allSatisfy { $0 == "v1" || $0 == "v2" })
        try await eventually {
            let answer = try await setup.get("/refetch")
            return String(buffer: answer.body) == "v2" && answer.head.headers.first(name: "cache-status")?.hasPrefix("outrider; hit; ttl=") == true
        }
        #expect(setup.backendRequests.count == 2)
        #expect(setup.backendRequests.last?.lowercased().contains("if-none-match") == false)
        await setup.stop()
    }

    /// A background revalidation whose backend breaks off before answering is sent to another backend of the site
    /// (up to `retry.attempts` more), and counted by how it ended; with no retries the stale response stays.
    @Test(arguments: [1, 0]) func aBackgroundRevalidationIsRetriedOnAnotherBackend(retries: Int) async throws {
        // Which backend each revalidation attempt reached, in order.
        let revalidations = NIOLockedValueBox<[Int]>([])
        let version = NIOLockedValueBox(1)
        func script(_ backend: Int) -> ScriptedBackend.Script {
            { _, _ in
                guard version.withLockedValue({ $0 }) == 2 else {
                    // Not kept for reuse, so that each revalidation attempt opens its own connection.
                    return Self.response("v1", "Cache-Control: max-age=10, stale-while-revalidate=100\r\nConnection: close\r\n")
                }
                // The first revalidation, wherever it goes, breaks off before a byte; later ones answer.
                let first = revalidations.withLockedValue { reached in
                    defer { reached.append(backend) }
                    return reached.isEmpty
                }
                return first ? [.init(bytes: "", closes: true)] : Self.response("v2", "Cache-Control: max-age=10\r\n")
            }
        }
        let backends = [try await ScriptedBackend.start(script(0)), try await ScriptedBackend.start(script(1))]
        var configuration = ProxyConfiguration(
            listeners: [.init(host: "127.0.0.1", port: 0)],
            sites: [ProxyConfiguration.Site(pools: backends.map(\.url))]
        )
        configuration.health.path = "/health"
        configuration.health.interval = .seconds(30)
        configuration.retry.attempts = retries
        let proxy = try await ProxyHarness.start(configuration)
        let directory = DiskStoreTests.temporaryDirectory()
        let store = try await DiskStore.open(path: directory, maxSize: 1 << 30, on: MultiThreadedEventLoopGroup.singleton.next()).get()
        let clock = ManualClock()
        var logger = Logger(label: "cache-test")
        logger.logLevel = .critical
        let cache = HTTPCache(
            store: store, settings: HTTPCache.Settings(storeTimeout: .seconds(30)), metrics: CacheMetrics(factory: TestMetrics()), logger: logger,
            clock: { clock.now })
        await proxy.server.setResponseCache(cache)
        defer { DiskStoreTests.removeDirectory(directory) }

        _ = try await TestClient.get(port: proxy.port, "/swr")
        try await eventually { store.usage.objects >= 1 && cache.flightCount == 0 }
        version.withLockedValue { $0 = 2 }
        clock.advance(20)
        let stale = try await TestClient.get(port: proxy.port, "/swr")
        #expect(String(buffer: stale.body) == "v1")
        try await eventually { cache.flightCount == 0 && cache.statistics.backgroundRevalidations.values.reduce(0, +) == 1 }
        let reached = revalidations.withLockedValue { $0 }
        let latest = String(buffer: try await TestClient.get(port: proxy.port, "/swr").body)
        if retries > 0 {
            #expect(cache.statistics.backgroundRevalidations["replaced"] == 1, "\(cache.statistics.backgroundRevalidations)")
            #expect(reached.count == 2 && Set(reached).count == 2, "the broken-off attempt, then the other backend: \(reached)")
            #expect(latest == "v2")
        } else {
            #expect(cache.statistics.backgroundRevalidations["failed"] == 1, "\(cache.statistics.backgroundRevalidations)")
            #expect(reached.count == 1, "\(reached)")
            #expect(latest == "v1", "the stale response stays")
        }
        await proxy.stop()
        for backend in backends { await backend.stop() }
        try? await store.shutdown().get()
    }

    /// A background revalidation that fails leaves the stale response in place and the next request may try again.
    @Test func aFailedBackgroundRevalidationKeepsTheStaleResponse() async throws {
        let failing = NIOLockedValueBox(false)
        let setup = try await Self.start { _, _ in
            if failing.withLockedValue({ $0 }) {
                return Self.response("oops", "", status: "503 Service Unavailable")
            }
            return Self.response("kept", "ETag: \"k\"\r\nCache-Control: max-age=10, stale-while-revalidate=100\r\n")
        }
        _ = try await setup.get("/fails")
        try await Self.stored(setup, objects: 1)
        failing.withLockedValue { $0 = true }
        setup.clock.advance(20)
        #expect(String(buffer: try await setup.get("/fails").body) == "kept")
        try await eventually { setup.backendRequests.count == 2 && setup.cache.flightCount == 0 }
        let again = try await setup.get("/fails")
        #expect(String(buffer: again.body) == "kept")
        #expect(again.head.headers.first(name: "cache-status")?.hasSuffix("detail=stale-while-revalidate") == true)
        try await eventually { setup.backendRequests.count == 3 && setup.cache.flightCount == 0 }
        #expect(setup.store.usage.objects == 1)
        await setup.stop()
    }

    @Test func theDiskStoreKeepsItsObjectsAcrossARestart() async throws {
        let directory = DiskStoreTests.temporaryDirectory()
        let first = try await Self.start(directory: directory) { _, _ in Self.response("kept", "Cache-Control: max-age=600\r\n") }
        _ = try await first.get("/keep")
        try await Self.stored(first, objects: 1)
        await first.proxy.stop()
        await first.backend.stop()
        try await first.store.shutdown().get()
        let second = try await Self.start(directory: directory) { _, _ in Self.response("new", "Cache-Control: max-age=600\r\n") }
        let hit = try await second.get("/keep")
        #expect(String(buffer: hit.body) == "kept")
        #expect(second.backendRequests.isEmpty)
        await second.stop()
    }

    @Test func aLargeObjectStreamsThroughAndIsStoredWhole() async throws {
        let size = 8 << 20
        let chunk = String(repeating: "0123456789abcdef", count: 4096)  // 64 KiB
        let setup = try await Self.start { _, _ in
            var chunks: [ScriptedBackend.Chunk] = [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\nCache-Control: max-age=60\r\n\r\n")]
            for _ in 0..<(size / chunk.utf8.count) { chunks.append(.init(bytes: chunk)) }
            return chunks
        }
        let miss = try await setup.get("/large")
        #expect(miss.body.readableBytes == size)
        try await Self.stored(setup, objects: 1)
        let hit = try await setup.get("/large")
        #expect(hit.body.readableBytes == size)
        #expect(hit.head.headers.first(name: "cache-status")?.hasPrefix("outrider; hit") == true)
        #expect(setup.backendRequests.count == 1)
        await setup.stop()
    }

    @Test func aFailingStoreIsBypassedAndClientsGetNoErrors() async throws {
        let backend = try await ScriptedBackend.start { _, _ in Self.response("direct", "Cache-Control: max-age=60\r\n") }
        let proxy = try await ProxyHarness.start(backend)
        var logger = Logger(label: "cache-test")
        logger.logLevel = .critical
        let stalled = HTTPCache(
            store: UnavailableStore(mode: .stalls),
            settings: HTTPCache.Settings(storeTimeout: .milliseconds(100)),
            metrics: CacheMetrics(factory: TestMetrics()),
            logger: logger
        )
        await proxy.server.setResponseCache(stalled)
        for _ in 0..<2 {
            let answer = try await TestClient.get(port: proxy.port, "/s")
            #expect(String(buffer: answer.body) == "direct")
            #expect(answer.head.headers.first(name: "cache-status") == "outrider; fwd=miss; fwd-status=200; detail=store-error")
        }
        let failing = HTTPCache(
            store: UnavailableStore(mode: .fails),
            settings: HTTPCache.Settings(),
            metrics: CacheMetrics(factory: TestMetrics()),
            logger: logger
        )
        await proxy.server.setResponseCache(failing)
        #expect(String(buffer: try await TestClient.get(port: proxy.port, "/s").body) == "direct")
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(try await failing.checkHealth(on: loop).get().isUp == false)
        let down = try await TestClient.get(port: proxy.port, "/s")
        #expect(down.head.headers.first(name: "cache-status") == "outrider; fwd=miss; fwd-status=200; detail=store-down")
        #expect(failing.statistics.results["bypass"] == 2)
        await proxy.stop()
        await backend.stop()
    }
}

/// A store that is down: every call fails, or never answers. It stands for the store faults
/// (a dead S3 endpoint, a hung disk) that the real stores are tested against separately.
struct UnavailableStore: CacheStore {
    enum Mode { case fails, stalls }
    let mode: Mode

    private func answer<T>(_ loop: any EventLoop) -> EventLoopFuture<T> {
        switch mode {
        case .fails: return loop.makeFailedFuture(CacheStoreError.failed("store unreachable"))
        case .stalls: return loop.makePromise(of: T.self).futureResult
        }
    }

    func open(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreObject?> { answer(eventLoop) }
    func beginFill(_ name: CacheObjectName, metadata: ByteBuffer, bodyLength: Int?, on eventLoop: any EventLoop) -> EventLoopFuture<any CacheStoreWriter> {
        answer(eventLoop)
    }
    func replaceMetadata(_ name: CacheObjectName, metadata: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> { answer(eventLoop) }
    func remove(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Void> { answer(eventLoop) }
    func removeVariants(of primary: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Int> { answer(eventLoop) }
    func removeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Int> { answer(eventLoop) }
    func checkHealth(on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreHealth> { answer(eventLoop) }
    var usage: CacheStoreUsage { CacheStoreUsage() }
    func shutdown() -> EventLoopFuture<Void> { MultiThreadedEventLoopGroup.singleton.next().makeSucceededVoidFuture() }
}
