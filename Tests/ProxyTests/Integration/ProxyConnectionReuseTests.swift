import NIOCore
import NIOPosix
import Testing

@testable import Proxy

/// A pooled backend connection never carries one client's bytes into another client's
/// response: each case has a backend misbehave on purpose and checks what reached the backend
/// and what reached the next client.
@Suite struct ProxyConnectionReuseTests {
    private static let injected = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected"

    /// The genuine answer to `GET /victim`, which names the path it answers.
    private static func answer(_ head: String) -> [ScriptedBackend.Chunk] {
        let path = head.split(separator: " ")[1]
        return [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: \(path.utf8.count)\r\n\r\n\(path)")]
    }

    /// One event loop, so that every client connection shares one pool of backend connections.
    private static let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private func proxy(_ backend: ScriptedBackend, allowConnect: Bool = false) async throws -> ProxyHarness {
        try await ProxyHarness.start(backend, allowConnect: allowConnect, group: Self.loop)
    }

    private func protocolErrors(_ proxy: ProxyHarness, _ reason: UpstreamProtocolErrors.Reason) -> Int64 {
        (try? proxy.metrics.expectCounter("upstream_protocol_errors_total", [("reason", reason.rawValue)]).totalValue) ?? 0
    }

    @Test func connectIsRefusedByDefault() async throws {
        let backend = try await ScriptedBackend.start { _, _ in [.init(bytes: "HTTP/1.1 200 Connection established\r\n\r\n")] }
        let proxy = try await proxy(backend)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), "\(client.text)")
        #expect(client.text.lowercased().contains("allow: get, head, post, put, delete, options, trace, patch\r\n"))
        #expect(backend.requests.isEmpty)
        await proxy.stop()
        await backend.stop()
    }

    /// RFC 9110 9.3.6: the backend's `200` (with a `Content-Length: 0` that must be ignored)
    /// makes its connection a tunnel, which must never carry another client's request.
    @Test func connectTunnelIsNeverPooled() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            head.hasPrefix("CONNECT ")
                ? [.init(bytes: "HTTP/1.1 200 Connection established\r\nContent-Length: 0\r\n\r\n")]
                : Self.answer(head)
        }
        let proxy = try await proxy(backend, allowConnect: true)
        let tunnel = try await RawClient.connect(port: proxy.port)
        try await tunnel.write("CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n")
        try await eventually { tunnel.text.hasPrefix("HTTP/1.1 200 Connection established\r\n") }
        try await tunnel.write("ping")
        try await eventually { tunnel.text.hasSuffix("tunnel:ping") }
        #expect(!tunnel.isClosed)
        for _ in 0..<3 {
            let victim = try await TestClient.get(port: proxy.port, "/victim")
            #expect(String(buffer: victim.body) == "/victim")
        }
        let connectConnection = try #require(backend.requests.first { $0.first?.hasPrefix("CONNECT ") == true })
        #expect(connectConnection.count == 1, "the tunnel carried \(connectConnection)")
        await tunnel.close()
        await proxy.stop()
        await backend.stop()
    }

    /// A non-2xx answer to CONNECT is an ordinary response, but its connection is not reused.
    @Test func refusedConnectClosesItsBackendConnection() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            head.hasPrefix("CONNECT ") ? [.init(bytes: "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")] : Self.answer(head)
        }
        let proxy = try await proxy(backend, allowConnect: true)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        let victim = try await TestClient.get(port: proxy.port, "/victim")
        #expect(String(buffer: victim.body) == "/victim")
        #expect(backend.requests.allSatisfy { $0.count == 1 })
        await proxy.stop()
        await backend.stop()
    }

    /// gunicorn 20.1 answers `HEAD` with a body, in a later segment. The next client's request,
    /// sent at once, must not get those bytes as its response.
    @Test func bodyAfterAHeadResponseDoesNotReachTheNextClient() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            head.hasPrefix("HEAD ")
                ? [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\n"), .init(bytes: Self.injected, delay: .milliseconds(20))]
                : Self.answer(head)
        }
        let proxy = try await proxy(backend)
        let head = try await TestClient.get(port: proxy.port, "/page", method: .HEAD)
        #expect(head.status == .ok)
        let victim = try await TestClient.get(port: proxy.port, "/victim")
        #expect(String(buffer: victim.body) == "/victim")
        try await eventually { protocolErrors(proxy, .bytesWhileIdle) == 1 }
        await proxy.stop()
        await backend.stop()
    }

    /// The same with the victim pipelined behind the `HEAD` on one client connection.
    @Test func bodyAfterAHeadResponseDoesNotAnswerAPipelinedRequest() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            head.hasPrefix("HEAD ")
                ? [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\n"), .init(bytes: Self.injected, delay: .milliseconds(20))]
                : Self.answer(head)
        }
        let proxy = try await proxy(backend)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("HEAD /page HTTP/1.1\r\nHost: t\r\n\r\nGET /victim HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasSuffix("\r\n\r\n/victim"), "\(client.text)")
        #expect(!client.text.contains("injected"))
        await proxy.stop()
        await backend.stop()
    }

    /// Bytes behind a response in the same read: the pipelined request taken up as the response
    /// ends goes elsewhere, and the connection is closed.
    @Test func bytesBehindAResponseDoNotAnswerAPipelinedRequest() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            head.hasPrefix("GET /first ")
                ? [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst" + Self.injected)]
                : Self.answer(head)
        }
        let proxy = try await proxy(backend)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /first HTTP/1.1\r\nHost: t\r\n\r\nGET /victim HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.contains("\r\n\r\nfirstHTTP/1.1 200 OK\r\n"), "\(client.text)")
        #expect(client.text.hasSuffix("\r\n\r\n/victim"), "\(client.text)")
        #expect(protocolErrors(proxy, .bytesAfterResponse) == 1)
        #expect(backend.requests.allSatisfy { $0.count == 1 })
        await proxy.stop()
        await backend.stop()
    }

    /// A 204 or 304 with a body sent after it, in the same read or a later one.
    @Test(arguments: ["204 No Content", "304 Not Modified"], [Duration.zero, .milliseconds(20)])
    func bodyAfterABodilessStatusDoesNotReachTheNextClient(status: String, delay: Duration) async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            head.hasPrefix("GET /bodiless ")
                ? [.init(bytes: "HTTP/1.1 \(status)\r\n\r\n"), .init(bytes: Self.injected, delay: delay)]
                : Self.answer(head)
        }
        let proxy = try await proxy(backend)
        let bodiless = try await TestClient.get(port: proxy.port, "/bodiless")
        #expect(bodiless.status.code == UInt(status.prefix(3))!)
        let victim = try await TestClient.get(port: proxy.port, "/victim")
        #expect(String(buffer: victim.body) == "/victim")
        await proxy.stop()
        await backend.stop()
    }

    @Test func bytesOnAnIdleConnectionCloseItAndAreCounted() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            Self.answer(head) + [.init(bytes: Self.injected, delay: .milliseconds(300))]
        }
        let proxy = try await proxy(backend)
        let first = try await TestClient.get(port: proxy.port, "/first")
        #expect(String(buffer: first.body) == "/first")
        try await eventually { protocolErrors(proxy, .bytesWhileIdle) == 1 }
        let second = try await TestClient.get(port: proxy.port, "/second")
        #expect(String(buffer: second.body) == "/second")
        #expect(backend.requests.allSatisfy { $0.count == 1 })
        await proxy.stop()
        await backend.stop()
    }
}
