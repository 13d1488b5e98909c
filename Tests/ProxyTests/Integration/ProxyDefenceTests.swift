import NIOCore
import Testing

@testable import Proxy

/// Request smuggling and resource exhaustion defences (RFC 9112 6.1, 6.3 and 5.2).
@Suite struct ProxyDefenceTests {
    static let malformed: [(String, String)] = [
        ("content length and transfer encoding", "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("differing content lengths", "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        ("content length list", "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd"),
        ("invalid chunk size", "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n"),
        ("transfer encoding not chunked last", "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
        ("space before colon", "GET / HTTP/1.1\r\nHost: t\r\nX-Bad : 1\r\n\r\n"),
        ("two hosts", "GET / HTTP/1.1\r\nHost: t\r\nHost: internal\r\n\r\n"),
        ("bare carriage return", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"),
    ]

    @Test(arguments: Self.malformed.map(\.0))
    func malformedRequestGets400AndClose(name: String) async throws {
        let request = Self.malformed.first { $0.0 == name }!.1
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write(request)
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 400 Bad Request"), "\(name): \(client.text)")
        #expect(client.text.lowercased().contains("connection: close"))
        #expect(backend.requests.isEmpty, "\(name) reached the backend")
        await proxy.stop()
        await backend.stop()
    }

    @Test(arguments: [
        ("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501 Not Implemented"),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"),
    ])
    func unsupportedCodingOrVersionIsAnsweredAndClosed(request: String, statusLine: String) async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write(request)
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix(statusLine), "\(client.text)")
        #expect(backend.requests.isEmpty)
        await proxy.stop()
        await backend.stop()
    }

    @Test func oversizedHeaderGets400() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.limits.maxHeaderBytes = 4096
        let proxy = try await ProxyHarness.start(configuration)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "b", count: 8192))\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(backend.requests.isEmpty)
        // Just under the limit is fine.
        let fits = try await TestClient.get(port: proxy.port, "/", headers: ["x-big": String(repeating: "b", count: 3000)])
        #expect(fits.status == .ok)
        await proxy.stop()
        await backend.stop()
    }

    @Test func connectionsOverTheLimitAreRefused() async throws {
        let backend = try await TestBackend.start(name: "a")
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.limits.maxConnections = 2
        let proxy = try await ProxyHarness.start(configuration)
        let first = try await TestClient.connect(port: proxy.port)
        let second = try await TestClient.connect(port: proxy.port)
        #expect(try await first.send(.GET, "/").status == .ok)
        #expect(try await second.send(.GET, "/").status == .ok)
        let third = try await RawClient.connect(port: proxy.port)
        try await eventually { third.isClosed }
        await first.close()
        try await eventually {
            (try? await TestClient.get(port: proxy.port, "/").status) == .ok
        }
        await second.close()
        await proxy.stop()
        await backend.stop()
    }
}

@Suite struct ProxyPipeliningTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nGET /status?code=201 HTTP/1.1\r\nHost: t\r\n\r\n")
        try await eventually { client.text.contains("201 Created") }
        let text = client.text
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(backend.requests.map(\.uri) == ["/slow?ms=50", "/status?code=201"])
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    /// Bytes after a request to switch protocols belong to the new protocol if the backend
    /// agrees; when it does not, they are never read as requests and the connection closes.
    @Test func declinedUpgradeClosesTheConnection() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write(
            "GET /first HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(client.text.lowercased().contains("connection: close"))
        #expect(backend.requests.map(\.uri) == ["/first"])
        await proxy.stop()
        await backend.stop()
    }

    @Test func requestPipelinedBehindCloseIsNotServed() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /first HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(client.text.lowercased().contains("connection: close"))
        #expect(backend.requests.map(\.uri) == ["/first"])
        await proxy.stop()
        await backend.stop()
    }
}
