import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct ProxyStreamingTests {
    @Test func uploadStreamsThroughWithChunkedFraming() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await TestClient.connect(port: proxy.port)
        let body = ByteBuffer(repeating: UInt8(ascii: "u"), count: 8 * 1024 * 1024)
        let counted = try await client.send(.POST, "/count", body: body)
        #expect(counted.text == "\(8 * 1024 * 1024)")

        let echoed = try await client.send(
            .PUT,
            "/echo",
            headers: ["transfer-encoding": "chunked"],
            body: ByteBuffer(string: "hello, backend"),
            trailers: ["x-checksum": "abc"]
        )
        #expect(echoed.status == .ok)
        #expect(echoed.text == "hello, backend")
        #expect(echoed.head.headers["transfer-encoding"] == ["chunked"])
        #expect(backend.requests.last?.headers["transfer-encoding"] == ["chunked"])
        #expect(backend.requestTrailers.last?["x-checksum"] == ["abc"])

        let trailed = try await client.send(.GET, "/trailers")
        #expect(trailed.text == "part one, part two")
        #expect(trailed.trailers?["x-digest"] == ["abc123"])
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    /// A response far larger than the socket buffers between backend and client, to a client
    /// that reads a little and then stops: over real sockets the proxy holds back the
    /// backend connection's reads and resumes them as the client drains, and nothing is lost
    /// or stuck. That reads stop exactly while the client cannot take more, and start again
    /// when it can, is `ProxyHandlerTests.slowClientHoldsBackTheBackend`.
    @Test func largeResponseToALateReaderArrivesWhole() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let total = 64 * 1024 * 1024
        let client = try await RawClient.connect(port: proxy.port, autoRead: false, receiveBuffer: 64 * 1024)
        try await client.write("GET /large?bytes=\(total) HTTP/1.1\r\nHost: t\r\n\r\n")
        for _ in 0..<8 { client.read() }
        try await eventually { client.count > 0 }
        try await client.readFreely()
        try await eventually(within: .seconds(30)) { client.count >= total }
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(backend.largeBytesWritten == total)
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func largeResponseArrivesWhole() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let response = try await TestClient.get(port: proxy.port, "/large?bytes=\(3 * 1024 * 1024 + 17)")
        #expect(response.body.readableBytes == 3 * 1024 * 1024 + 17)
        #expect(response.head.headers["content-length"] == ["\(3 * 1024 * 1024 + 17)"])
        await proxy.stop()
        await backend.stop()
    }

    @Test func headResponseHasNoBody() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await TestClient.connect(port: proxy.port)
        let head = try await client.send(.HEAD, "/large?bytes=100")
        #expect(head.status == .ok)
        #expect(head.body.readableBytes == 0)
        // The connection is still in sync for the next request.
        #expect(try await client.send(.GET, "/").text.hasPrefix("a"))
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func upgradeIsTunnelledBothWays() async throws {
        let backend = try await TestBackend.start(name: "ws")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n")
        try await eventually { client.text.contains("\r\n\r\n") }
        #expect(client.text.hasPrefix("HTTP/1.1 101 Switching Protocols"))
        #expect(client.text.lowercased().contains("upgrade: websocket"))
        let headerLength = client.count
        try await client.write("ping-1")
        try await eventually { client.count >= headerLength + 6 }
        try await client.write("ping-2 with more bytes")
        try await eventually { client.count >= headerLength + 6 + 22 }
        #expect(client.text.hasSuffix("ping-1ping-2 with more bytes"))
        #expect(backend.requests.last?.headers["upgrade"] == ["websocket"])
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func expectContinueIsPassedThrough() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("PUT /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        // The client waits for the backend's interim answer before sending the body.
        try await eventually { client.text.hasPrefix("HTTP/1.1 100 Continue\r\n") }
        try await client.write("12345")
        try await eventually { client.text.hasSuffix("\r\n\r\n5") }
        #expect(client.text.contains("HTTP/1.1 200 OK"))
        #expect(backend.requests.last?.headers["expect"] == ["100-continue"])
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func upstreamConnectionsAreReused() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.health.interval = .seconds(30)
        configuration.upstream.idleTimeout = .seconds(120)
        let proxy = try await ProxyHarness.start(configuration)
        let before = backend.connectionCount
        let client = try await TestClient.connect(port: proxy.port)
        for _ in 0..<20 {
            #expect(try await client.send(.GET, "/").status == .ok)
        }
        // One pooled keep-alive connection carried all twenty requests.
        #expect(backend.connectionCount == before + 1)
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func idleUpstreamConnectionsAreClosed() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.health.interval = .seconds(30)
        configuration.upstream.idleTimeout = .milliseconds(300)
        let proxy = try await ProxyHarness.start(configuration)
        let client = try await TestClient.connect(port: proxy.port)
        #expect(try await client.send(.GET, "/").status == .ok)
        try await eventually { backend.openConnectionCount == 0 }
        // The closed connection is not reused: the next request opens one.
        let before = backend.connectionCount
        #expect(try await client.send(.GET, "/").status == .ok)
        #expect(backend.connectionCount == before + 1)
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func maxIdleZeroClosesAfterEachRequest() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.health.interval = .seconds(30)
        configuration.upstream.maxIdlePerBackend = 0
        let proxy = try await ProxyHarness.start(configuration)
        let before = backend.connectionCount
        let client = try await TestClient.connect(port: proxy.port)
        for _ in 0..<3 {
            #expect(try await client.send(.GET, "/").status == .ok)
        }
        #expect(backend.connectionCount == before + 3)
        await client.close()
        await proxy.stop()
        await backend.stop()
    }
}
