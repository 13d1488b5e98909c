import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import Proxy

/// Requests a backend could read differently from the proxy are normalised or refused
/// (RFC 9110, 9112, 9113), and a client is answered however it ends its side.
@Suite struct ProxyAmbiguityTests {
    private func proxy(_ backend: ScriptedBackend) async throws -> ProxyHarness {
        try await ProxyHarness.start(backend)
    }

    private static func ok(_ head: String) -> [ScriptedBackend.Chunk] {
        [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")]
    }

    /// Exchanges `request` on a fresh connection that closes after it.
    private func exchange(_ request: String, port: Int) async throws -> String {
        let client = try await RawClient.connect(port: port)
        try await client.write(request)
        try await eventually { client.isClosed }
        return client.text
    }

    @Test(arguments: [
        "Content-Length: 5\r\nContent-Length: 5",
        "Content-Length: 5, 5",
        "Content-Length:\t5\t",
        "Content-Length:5",
    ])
    func contentLengthIsForwardedAsOneBareField(fields: String) async throws {
        let backend = try await ScriptedBackend.start { head, _ in Self.ok(head) }
        let proxy = try await proxy(backend)
        let answer = try await exchange("POST /up HTTP/1.1\r\nHost: t\r\n\(fields)\r\nConnection: close\r\n\r\nhello", port: proxy.port)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        let head = try #require(backend.requests.first?.first)
        let lengths = head.split(separator: "\r\n").filter { $0.lowercased().hasPrefix("content-length") }
        #expect(lengths == ["content-length: 5"], "\(head)")
        await proxy.stop()
        await backend.stop()
    }

    @Test func framingFieldsInTrailersAreDropped() async throws {
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await ProxyHarness.start(sites: [[backend]])
        let answer = try await exchange(
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "3\r\nabc\r\n0\r\nContent-Length: 9\r\nHost: internal\r\nTransfer-Encoding: chunked\r\nConnection: x\r\nX-Sum: 1\r\n\r\n",
            port: proxy.port
        )
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        try await eventually { !backend.requestTrailers.isEmpty }
        let trailers = try #require(backend.requestTrailers.first)
        #expect(trailers.map(\.name) == ["X-Sum"], "\(trailers)")
        await proxy.stop()
        await backend.stop()
    }

    /// RFC 9112 3.2.2: the authority of an absolute-form target wins over `Host`.
    @Test func absoluteFormTargetGoesOnInOriginFormWithItsAuthorityAsHost() async throws {
        let backend = try await ScriptedBackend.start { head, _ in Self.ok(head) }
        let proxy = try await proxy(backend)
        for target in ["http://other.example:8080/path?q=1", "HTTPS://other.example:8080"] {
            let answer = try await exchange("GET \(target) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: proxy.port)
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        }
        let heads = backend.requests.flatMap { $0 }
        #expect(heads.count == 2)
        for (head, path) in zip(heads, ["/path?q=1", "/"]) {
            let lines = head.split(separator: "\r\n").map(String.init)
            #expect(lines.first == "GET \(path) HTTP/1.1")
            #expect(lines.filter { $0.lowercased().hasPrefix("host:") } == ["host: other.example:8080"], "\(head)")
            #expect(lines.contains("x-forwarded-host: other.example:8080"))
        }
        await proxy.stop()
        await backend.stop()
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n",
        "GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET nopath HTTP/1.1\r\nHost: a\r\n\r\n",
    ])
    func requestWithoutAValidHostOrTargetGets400(request: String) async throws {
        let backend = try await ScriptedBackend.start { head, _ in Self.ok(head) }
        let proxy = try await proxy(backend)
        let answer = try await exchange(request, port: proxy.port)
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer)")
        #expect(backend.requests.isEmpty)
        await proxy.stop()
        await backend.stop()
    }

    @Test func http10WithoutHostIsServed() async throws {
        let backend = try await ScriptedBackend.start { head, _ in Self.ok(head) }
        let proxy = try await proxy(backend)
        let answer = try await exchange("GET / HTTP/1.0\r\n\r\n", port: proxy.port)
        #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(answer)")
        await proxy.stop()
        await backend.stop()
    }

    /// RFC 9110 6.2: the proxy speaks HTTP/1.1, whatever later minor version a client names.
    @Test func laterMinorVersionIsAnsweredAsHTTP11() async throws {
        let backend = try await ScriptedBackend.start { head, _ in Self.ok(head) }
        let proxy = try await proxy(backend)
        let answer = try await exchange("GET / HTTP/1.2\r\nHost: t\r\nConnection: close\r\n\r\n", port: proxy.port)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        let local = try await exchange("GET /v1/health HTTP/1.2\r\nHost: t\r\nConnection: close\r\n\r\n", port: proxy.port)
        #expect(local.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(local)")
        await proxy.stop()
        await backend.stop()
    }

    /// RFC 9112 9.6: a client that half-closes after its request (`nc -N`) still gets the answer.
    @Test func halfClosedClientGetsItsResponse() async throws {
        let backend = try await ScriptedBackend.start { head, _ in
            [.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), .init(bytes: "ok", delay: .milliseconds(20))]
        }
        let proxy = try await proxy(backend)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
        try await client.shutdownOutput()
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(client.text)")
        #expect(client.text.hasSuffix("\r\n\r\nok"))
        await proxy.stop()
        await backend.stop()
    }

    /// A head begun while the previous response is still on its way (a slowloris client
    /// trickling its next request early) is held to the header-read timeout once that
    /// response ends, not to the idle timeout.
    @Test func headBegunDuringAResponseGetsTheHeaderTimeout() async throws {
        let backend = try await ScriptedBackend.start { _, _ in
            [.init(bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n"), .init(bytes: "0\r\n\r\n", delay: .seconds(1))]
        }
        var configuration = ProxyConfiguration(listeners: [.init(host: "127.0.0.1", port: 0)], sites: [.init(pools: [backend.url])])
        configuration.health.path = "/health"
        configuration.health.interval = .seconds(30)
        // Long enough that a loaded machine cannot run the first head, or the second one's write, past it.
        configuration.limits.headerReadTimeout = .seconds(3)
        configuration.limits.idleTimeout = .seconds(120)
        let proxy = try await ProxyHarness.start(configuration)
        let client = try await RawClient.connect(port: proxy.port)
        try await client.write("GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
        try await eventually { client.text.contains("\r\n\r\n2\r\nok\r\n") }
        try await client.write("GET /b HTTP/1.1\r\nHost: t\r\n")
        try await eventually { client.isClosed }
        #expect(client.text.hasSuffix("0\r\n\r\n"))
        #expect(backend.requests.flatMap { $0 }.count == 1)
        await proxy.stop()
        await backend.stop()
    }

    @Test func malformedPipelinedRequestGets400AfterTheResponseBeforeIt() async throws {
        let backend = try await ScriptedBackend.start { head, _ in Self.ok(head) }
        let proxy = try await proxy(backend)
        let answer = try await exchange("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\nX-Bad : 1\r\n\r\n", port: proxy.port)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        #expect(answer.contains("\r\n\r\nokHTTP/1.1 400 Bad Request\r\n"), "\(answer)")
        #expect(backend.requests.flatMap { $0 }.count == 1)
        await proxy.stop()
        await backend.stop()
    }

    /// A backend that answers before the upload ends: the proxy closes gracefully, reading on,
    /// so the client reads the answer instead of a reset.
    @Test func earlyAnswerToAnUploadReachesTheClient() async throws {
        let backend = try await ScriptedBackend.start { _, _ in
            [.init(bytes: "HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nbig!")]
        }
        let proxy = try await proxy(backend)
        let client = try await RawClient.connect(port: proxy.port)
        let size = 8 * 1024 * 1024
        try await client.write("PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
        let piece = ByteBuffer(repeating: UInt8(ascii: "x"), count: 256 * 1024)
        for _ in 0..<(size / piece.readableBytes) where !client.isClosed {
            try? await client.write(piece)
        }
        try await eventually { client.isClosed }
        #expect(client.text.hasPrefix("HTTP/1.1 413 Content Too Large\r\n"), "\(client.text)")
        #expect(client.text.hasSuffix("\r\n\r\nbig!"))
        await proxy.stop()
        await backend.stop()
    }

    /// RFC 9113 8.1.1, 8.2.1, 8.3.1: malformed HTTP/2 requests reset their stream with
    /// PROTOCOL_ERROR and go no further.
    @Test(arguments: [
        [(":method", "GET"), (":scheme", "https"), (":authority", "a.example"), (":path", "/"), ("host", "b.example")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "a.example"), (":path", "/"), ("x-a", " padded")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "a.example"), (":path", "/"), ("x-a", "tab\t")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "a.example"), (":path", "relative")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "a.example"), (":path", "*")],
    ])
    func malformedHTTP2RequestResetsItsStream(fields: [(String, String)]) throws {
        let channel = EmbeddedChannel(handler: HTTP2RequestValidator())
        let headers = HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders(fields), endStream: true))
        #expect(throws: HTTP2MalformedRequest.self) { try channel.writeInbound(headers) }
        #expect(try channel.readInbound(as: HTTP2Frame.FramePayload.self) == nil)
        let reset = try #require(try channel.readOutbound(as: HTTP2Frame.FramePayload.self))
        guard case .rstStream(let code) = reset else {
            Issue.record("expected RST_STREAM, got \(reset)")
            return
        }
        #expect(code == .protocolError)
    }

    @Test func wellFormedHTTP2RequestPasses() throws {
        let channel = EmbeddedChannel(handler: HTTP2RequestValidator())
        let fields = [(":method", "OPTIONS"), (":scheme", "https"), (":authority", "A.example"), (":path", "*"), ("host", "a.example")]
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders(fields))))
        // Trailers are not request heads: a later header block passes as it is.
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("x-sum", " 1")]), endStream: true)))
        #expect(try channel.readInbound(as: HTTP2Frame.FramePayload.self) != nil)
        #expect(try channel.readInbound(as: HTTP2Frame.FramePayload.self) != nil)
        #expect(try channel.readOutbound(as: HTTP2Frame.FramePayload.self) == nil)
    }
}
