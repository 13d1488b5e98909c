import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct ForwardedRequestTests {
    private func request(_ headers: [(String, String)], version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: .GET, uri: "/a?b=c", headers: HTTPHeaders(headers))
    }

    @Test func stripsHopByHopFieldsAndThoseNamedInConnection() {
        let head = ForwardedRequest(clientIP: "10.0.0.1", scheme: "http").head(
            for: request([
                ("Host", "example.com"), ("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"),
                ("Keep-Alive", "timeout=5"), ("Proxy-Authorization", "Basic x"), ("Proxy-Connection", "keep-alive"),
                ("Trailer", "X-Sum"), ("Upgrade", "h2c"), ("TE", "gzip"), ("Accept", "*/*"),
            ])
        )
        for name in ["connection", "x-secret", "keep-alive", "proxy-authorization", "proxy-connection", "trailer", "upgrade", "te"] {
            #expect(!head.headers.contains(name: name), "\(name) forwarded")
        }
        #expect(head.headers["accept"] == ["*/*"])
        #expect(head.uri == "/a?b=c")
    }

    @Test func keepsHostAndAddsForwardedFields() {
        let head = ForwardedRequest(clientIP: "10.0.0.1", scheme: "https").head(for: request([("Host", "example.com:8080")]))
        #expect(head.headers["host"] == ["example.com:8080"])
        #expect(head.headers["x-forwarded-for"] == ["10.0.0.1"])
        #expect(head.headers["x-real-ip"] == ["10.0.0.1"])
        #expect(head.headers["x-forwarded-host"] == ["example.com:8080"])
        #expect(head.headers["x-forwarded-proto"] == ["https"])
    }

    @Test func appendsToExistingForwardedFor() {
        let head = ForwardedRequest(clientIP: "10.0.0.2", scheme: "http").head(
            for: request([("Host", "h"), ("X-Forwarded-For", "192.0.2.1"), ("X-Real-IP", "spoofed")])
        )
        #expect(head.headers["x-forwarded-for"] == ["192.0.2.1, 10.0.0.2"])
        #expect(head.headers["x-real-ip"] == ["10.0.0.2"])
    }

    @Test func keepsChunkedFramingAndTrailersAcceptance() {
        let head = ForwardedRequest(clientIP: nil, scheme: "http").head(
            for: request([("Host", "h"), ("Transfer-Encoding", "chunked"), ("TE", "trailers")])
        )
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(head.headers["te"] == ["trailers"])
    }

    @Test func upgradeRequestKeepsUpgradeFields() {
        let head = ForwardedRequest(clientIP: nil, scheme: "http").head(
            for: request([("Host", "h"), ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Key", "k")])
        )
        #expect(head.headers["connection"] == ["upgrade"])
        #expect(head.headers["upgrade"] == ["websocket"])
        #expect(head.headers["sec-websocket-key"] == ["k"])
    }

    @Test func upstreamRequestIsHTTP11() {
        let head = ForwardedRequest(clientIP: nil, scheme: "http").head(for: request([("Host", "h")], version: .http1_0))
        #expect(head.version == .http1_1)
    }

    @Test func responseHeadFollowsClientConnection() {
        let response = HTTPResponseHead(
            version: .http1_1,
            status: .ok,
            headers: ["Connection": "keep-alive, X-Hop", "X-Hop": "1", "Transfer-Encoding": "chunked", "ETag": "\"x\""]
        )
        let keep = ForwardedRequest.responseHead(for: response, request: request([]), keepAlive: true)
        #expect(keep.headers["transfer-encoding"] == ["chunked"])
        #expect(!keep.headers.contains(name: "x-hop"))
        #expect(!keep.headers.contains(name: "connection"))
        #expect(keep.headers["etag"] == ["\"x\""])

        let close = ForwardedRequest.responseHead(for: response, request: request([]), keepAlive: false)
        #expect(close.headers["connection"] == ["close"])

        let old = ForwardedRequest.responseHead(for: response, request: request([], version: .http1_0), keepAlive: true)
        #expect(old.version == .http1_0)
        #expect(!old.headers.contains(name: "transfer-encoding"))
        #expect(old.headers["connection"] == ["keep-alive"])
    }

    @Test func bodilessResponsesAreNotChunked() {
        let response = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Transfer-Encoding": "chunked"])
        var head = request([])
        head.method = .HEAD
        let forwarded = ForwardedRequest.responseHead(for: response, request: head, keepAlive: true)
        #expect(!forwarded.headers.contains(name: "transfer-encoding"))
        let notModified = HTTPResponseHead(version: .http1_1, status: .notModified, headers: ["ETag": "x"])
        #expect(!ForwardedRequest.responseHead(for: notModified, request: request([]), keepAlive: true).headers.contains(name: "transfer-encoding"))
    }

    @Test func unframedBodyIsChunkedForHTTP11AndClosesForHTTP10() {
        let response = HTTPResponseHead(version: .http1_0, status: .ok, headers: [:])
        let forwarded = ForwardedRequest.responseHead(for: response, request: request([]), keepAlive: true)
        #expect(forwarded.headers["transfer-encoding"] == ["chunked"])
        #expect(!ForwardedRequest.requiresClose(response, request: request([])))
        #expect(ForwardedRequest.requiresClose(response, request: request([], version: .http1_0)))
        let sized = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "3"])
        #expect(!ForwardedRequest.requiresClose(sized, request: request([], version: .http1_0)))
        #expect(ForwardedRequest.responseHead(for: sized, request: request([]), keepAlive: true).headers["content-length"] == ["3"])
    }

    @Test func switchingProtocolsResponseKeepsUpgrade() {
        let response = HTTPResponseHead(
            version: .http1_1,
            status: .switchingProtocols,
            headers: ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "a"]
        )
        let head = ForwardedRequest.responseHead(for: response, request: request([]), keepAlive: true)
        #expect(head.headers["upgrade"] == ["websocket"])
        #expect(head.headers["connection"] == ["upgrade"])
    }
}
