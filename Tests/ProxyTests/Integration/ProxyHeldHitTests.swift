import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import Proxy

/// A plain hit on a copy in memory writes its head from bytes kept next to the copy
/// (``StoredHeadBytes``); every other hit builds it from fields. Both must put the same bytes on
/// the wire, and the kept bytes must follow the stored head when a `304` changes it.
@Suite struct ProxyHeldHitTests {
    typealias Setup = ProxyHTTPCacheTests.Setup

    /// An origin response with what a hit must rewrite or leave out: its own `Age` (replaced by the
    /// current age), a field a qualified `no-cache` names (sent only once validated), names in
    /// mixed case, and a reason phrase the cache makes again.
    static let fields =
        "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\nETag: \"h1\"\r\nAge: 3\r\nCache-Control: max-age=600, no-cache=\"X-Secret\"\r\n"
        + "X-Secret: s\r\ncontent-TYPE: text/plain\r\nLast-Modified: Wed, 31 Dec 2025 00:00:00 GMT\r\nX-Multi: a\r\nX-Multi: b\r\n"

    static let requests = [
        "GET /h HTTP/1.1\r\nHost: proxy.test\r\n\r\n",
        "HEAD /h HTTP/1.1\r\nHost: proxy.test\r\n\r\n",
        "GET /h HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n",
        "GET /h HTTP/1.0\r\nHost: proxy.test\r\nConnection: keep-alive\r\n\r\n",
        "GET /h HTTP/1.0\r\nHost: proxy.test\r\n\r\n",
    ]

    static func start(memory: Bool) async throws -> Setup {
        let setup = try await ProxyHTTPCacheTests.start(memory: memory) { _, _ in ProxyHTTPCacheTests.response("held body", fields) }
        _ = try await setup.get("/h")
        try await ProxyHTTPCacheTests.stored(setup, objects: 1)
        if let tier = setup.cache.store as? MemoryTier {
            try await eventually { tier.memoryUsage.objects == 1 }
        }
        return setup
    }

    /// The stored response the cache answers for a `GET` of `uri` now.
    static func hit(_ setup: Setup, _ uri: String = "/h") async throws -> any StoredResponse {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let request = CacheRequest(method: .GET, target: uri, headers: ["host": "proxy.test"])
        let lookup = try await setup.cache.answer(request, on: loop).future(on: loop).get()
        guard case .hit(let stored) = lookup else {
            Issue.record("expected a hit, got \(lookup)")
            throw CacheStoreError.failed("no hit")
        }
        return stored
    }

    /// Sends `request` on a connection of its own and answers every byte of the response: read until the
    /// proxy closes, or, on a kept connection, until the body (if any) has come.
    static func exchange(_ setup: Setup, _ request: String) async throws -> String {
        let client = try await RawClient.connect(port: setup.proxy.port)
        try await client.write(request)
        let closes = request.contains("Connection: close") || (request.contains("HTTP/1.0") && !request.contains("keep-alive"))
        try await eventually {
            if closes { return client.isClosed }
            let text = client.text
            return request.hasPrefix("HEAD") ? text.hasSuffix("\r\n\r\n") : text.hasSuffix("held body")
        }
        let text = client.text
        await client.close()
        return text
    }

    @Test func aPlainHitOnAMemoryCopyIsByteForByteAHitBuiltFromFields() async throws {
        let held = try await Self.start(memory: true)
        let fromFields = try await Self.start(memory: false)
        // The same current age on both.
        held.clock.advance(5)
        fromFields.clock.advance(5)
        #expect(try await Self.hit(held).headBytes != nil)
        #expect(try await Self.hit(fromFields).headBytes == nil)
        for request in Self.requests {
            let fast = try await Self.exchange(held, request)
            let general = try await Self.exchange(fromFields, request)
            #expect(fast == general, "\(request)")
            #expect(fast.contains("\r\nage: 8\r\n"))
            #expect(!fast.contains("Age: 3"))
            #expect(!fast.contains("X-Secret: s"))
            #expect(fast.contains("X-Multi: a\r\nX-Multi: b\r\n"))
        }
        let whole = try await Self.exchange(held, Self.requests[0])
        #expect(whole.hasPrefix("HTTP/1.1 200 OK\r\nDate: "))
        #expect(whole.hasSuffix("\r\nage: 8\r\ncache-status: outrider; hit; ttl=592\r\ncontent-length: 9\r\n\r\nheld body"))
        let closing = try await Self.exchange(held, Self.requests[2])
        #expect(closing.hasSuffix("content-length: 9\r\nconnection: close\r\n\r\nheld body"))
        let old = try await Self.exchange(held, Self.requests[3])
        #expect(old.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(old.hasSuffix("content-length: 9\r\nconnection: keep-alive\r\n\r\nheld body"))
        // Ranges and conditional requests go the fields path, on a memory copy too.
        let ranged = try await held.get("/h", ["range": "bytes=0-3"])
        #expect(ranged.status == .partialContent)
        #expect(String(buffer: ranged.body) == "held")
        let conditional = try await held.get("/h", ["if-none-match": "\"h1\""])
        #expect(conditional.status == .notModified)
        #expect(held.backendRequests.count == 1)
        await held.stop()
        await fromFields.stop()
    }

    /// A `304` that updates the stored fields (RFC 9111 4.3.4) drops the copy; the next copy has its
    /// head's bytes made again from the updated head.
    @Test func theKeptHeadBytesAreMadeAgainAfterA304UpdatesTheStoredFields() async throws {
        let setup = try await ProxyHTTPCacheTests.start(memory: true) { head, _ in
            if head.lowercased().contains("if-none-match: \"u1\"") {
                return [.init(bytes: "HTTP/1.1 304 Not Modified\r\nETag: \"u1\"\r\nCache-Control: max-age=100\r\nX-Version: 2\r\n\r\n")]
            }
            return ProxyHTTPCacheTests.response("held body", "ETag: \"u1\"\r\nCache-Control: max-age=10\r\nX-Version: 1\r\n")
        }
        _ = try await setup.get("/h")
        try await ProxyHTTPCacheTests.stored(setup, objects: 1)
        let tier = try #require(setup.cache.store as? MemoryTier)
        try await eventually { tier.memoryUsage.objects == 1 }
        let before = try await Self.exchange(setup, Self.requests[0])
        #expect(before.contains("\r\nX-Version: 1\r\n"))
        #expect(before.contains("cache-status: outrider; hit; ttl=10\r\n"))
        setup.clock.advance(20)
        let revalidated = try await setup.get("/h")
        #expect(revalidated.head.headers.first(name: "cache-status") == "outrider; fwd=stale; fwd-status=304")
        #expect(revalidated.head.headers.first(name: "x-version") == "2")
        try await eventually { setup.cache.flightCount == 0 }
        // The next hit reads the updated object from disk and copies it into memory; the one after
        // is answered from the new copy.
        try await eventually { try await Self.hit(setup).headBytes != nil }
        let after = try await Self.exchange(setup, Self.requests[0])
        #expect(after.contains("\r\nX-Version: 2\r\n"))
        #expect(!after.contains("X-Version: 1"))
        #expect(after.contains("cache-status: outrider; hit; ttl=100\r\n"))
        #expect(after.hasSuffix("\r\n\r\nheld body"))
        // And the kept bytes say what the fields say.
        let stored = try await Self.hit(setup)
        var fromBytes = ByteBuffer()
        try #require(stored.headBytes).write(version: .http1_1, connection: nil, into: &fromBytes)
        var fromFields = ByteBuffer()
        fromFields.writeResponseHead(stored.head)
        #expect(String(buffer: fromBytes) == String(buffer: fromFields))
        #expect(setup.backendRequests.count == 2)
        await setup.stop()
    }
}
