import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct ForwardedRequestTests {
    private func request(_ headers: [(String, String)], version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: .GET, uri: "/a?b=c", headers: HTTPHeaders(headers))
    }

    /// The head a backend receives: written by `forwarding` and read back by NIO's decoder.
    private func forwarded(_ forwarding: ForwardedRequest, _ request: HTTPRequestHead) throws -> HTTPRequestHead {
        try forwardedWithFraming(forwarding, request).head
    }

    private func forwardedWithFraming(_ forwarding: ForwardedRequest, _ request: HTTPRequestHead) throws -> (head: HTTPRequestHead, chunked: Bool) {
        var buffer = ByteBuffer()
        let chunked = forwarding.write(request, into: &buffer)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(buffer)
        guard case .head(let head) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no request head in \(String(buffer: buffer))")
            throw ChannelError.inappropriateOperationForState
        }
        return (head, chunked)
    }

    /// `head` as it comes off a backend connection: encoded by NIO and read by ``ResponseParser``.
    private func received(_ head: HTTPResponseHead) throws -> ResponseHead {
        var bytes = try encodedByNIO(head)
        var parser = ResponseParser()
        guard case .head(let parsed) = try parser.next(from: &bytes) else {
            Issue.record("no head parsed from \(String(buffer: bytes))")
            throw ChannelError.inappropriateOperationForState
        }
        return parsed
    }

    /// What NIO's response encoder writes for `head` when framing fields are left to the caller.
    private func encodedByNIO(_ head: HTTPResponseHead) throws -> ByteBuffer {
        var configuration = HTTPResponseEncoder.Configuration()
        configuration.automaticallySetFramingHeaders = false
        let channel = EmbeddedChannel(handler: HTTPResponseEncoder(configuration: configuration))
        defer { _ = try? channel.finish() }
        try channel.writeOutbound(HTTPServerResponsePart.head(head))
        var encoded = ByteBuffer()
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var bytes) = part else { continue }
            encoded.writeBuffer(&bytes)
        }
        return encoded
    }

    @Test func stripsHopByHopFieldsAndThoseNamedInConnection() throws {
        let head = try forwarded(
            ForwardedRequest(clientIP: "10.0.0.1", scheme: "http"),
            request([
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

    @Test func hopByHopNamesMatchWithoutRegardToCaseOrSpaces() {
        var headers = HTTPHeaders([
            ("CONNECTION", " Keep-Alive ,\tX-Secret , close"), ("x-SECRET", "1"), ("KEEP-ALIVE", "5"),
            ("Transfer-Encoding", "chunked"), ("TE", "gzip,  Trailers"), ("X-Keep", "yes"),
        ])
        headers.removeHopByHopFields()
        #expect(headers.map(\.name) == ["X-Keep", "te"])
        #expect(headers["te"] == ["trailers"])
        #expect(HopByHopFields.index(of: "Proxy-Authorization") == 4)
        #expect(HopByHopFields.index(of: "x-upgrade") == nil)
        #expect("\t a b \t".trimmingASCIISpaces() == "a b")
        #expect(Array(" a,, b ,\tc , ".listElements) == ["a", "b", "c"])
        #expect(Array("".listElements).isEmpty)
    }

    @Test func messagesWithoutHopByHopFieldsAreLeftAlone() {
        var headers = HTTPHeaders([("Host", "h"), ("Accept", "*/*")])
        headers.removeHopByHopFields()
        #expect(headers == HTTPHeaders([("Host", "h"), ("Accept", "*/*")]))
    }

    @Test func keepsHostAndAddsForwardedFields() throws {
        let head = try forwarded(ForwardedRequest(clientIP: "10.0.0.1", scheme: "https"), request([("Host", "example.com:8080")]))
        #expect(head.headers["host"] == ["example.com:8080"])
        #expect(head.headers["x-forwarded-for"] == ["10.0.0.1"])
        #expect(head.headers["x-real-ip"] == ["10.0.0.1"])
        #expect(head.headers["x-forwarded-host"] == ["example.com:8080"])
        #expect(head.headers["x-forwarded-proto"] == ["https"])
    }

    @Test func appendsToExistingForwardedFor() throws {
        let head = try forwarded(
            ForwardedRequest(clientIP: "10.0.0.2", scheme: "http"),
            request([("Host", "h"), ("X-Forwarded-For", "192.0.2.1"), ("X-Real-IP", "spoofed"), ("X-Forwarded-Proto", "ftp")])
        )
        #expect(head.headers["x-forwarded-for"] == ["192.0.2.1, 10.0.0.2"])
        #expect(head.headers["x-real-ip"] == ["10.0.0.2"])
        #expect(head.headers["x-forwarded-proto"] == ["http"])
    }

    @Test func withoutAClientAddressTheClientsForwardingFieldsPass() throws {
        let head = try forwarded(
            ForwardedRequest(clientIP: nil, scheme: "http"),
            request([("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-Host", "front")])
        )
        #expect(head.headers["x-forwarded-for"] == ["192.0.2.1"])
        #expect(head.headers["x-forwarded-host"] == ["front"])
        #expect(!head.headers.contains(name: "x-real-ip"))
    }

    @Test func keepsChunkedFramingAndTrailersAcceptance() throws {
        let (head, chunked) = try forwardedWithFraming(
            ForwardedRequest(clientIP: nil, scheme: "http"),
            request([("Host", "h"), ("Transfer-Encoding", "gzip, Chunked"), ("TE", "trailers")])
        )
        #expect(chunked)
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(head.headers["te"] == ["trailers"])
    }

    /// A body that may follow without a length (an HTTP/2 stream's) is chunked, as NIO's
    /// request encoder frames it; a length passes through.
    @Test func bodyFramingFollowsTheMethodAndLength() throws {
        let forwarding = ForwardedRequest(clientIP: nil, scheme: "http")
        var post = request([("Host", "h")])
        post.method = .POST
        let (unsized, unsizedChunked) = try forwardedWithFraming(forwarding, post)
        #expect(unsizedChunked)
        #expect(unsized.headers["transfer-encoding"] == ["chunked"])
        post.headers.add(name: "Content-Length", value: "5")
        let (sized, sizedChunked) = try forwardedWithFraming(forwarding, post)
        #expect(!sizedChunked)
        #expect(sized.headers["content-length"] == ["5"])
        #expect(!sized.headers.contains(name: "transfer-encoding"))
        let (get, getChunked) = try forwardedWithFraming(forwarding, request([("Host", "h")]))
        #expect(!getChunked)
        #expect(!get.headers.contains(name: "transfer-encoding"))
        #expect(!get.headers.contains(name: "content-length"))
    }

    @Test func upgradeRequestKeepsUpgradeFields() throws {
        let head = try forwarded(
            ForwardedRequest(clientIP: nil, scheme: "http"),
            request([("Host", "h"), ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Key", "k")])
        )
        #expect(head.headers["connection"] == ["upgrade"])
        #expect(head.headers["upgrade"] == ["websocket"])
        #expect(head.headers["sec-websocket-key"] == ["k"])
    }

    @Test func upstreamRequestIsHTTP11() throws {
        let head = try forwarded(ForwardedRequest(clientIP: nil, scheme: "http"), request([("Host", "h")], version: .http1_0))
        #expect(head.version == .http1_1)
        #expect(head.method == .GET)
        #expect(head.uri == "/a?b=c")
    }

    /// The bytes written for HTTP/1 clients are the bytes NIO's encoder writes for the head
    /// given to HTTP/2 streams, across framing, connection and upgrade cases.
    @Test func writtenResponseHeadIsTheEncodedResponseHead() throws {
        let responses = [
            HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "3", "Connection": "keep-alive", "ETag": "e"]),
            HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Transfer-Encoding": "chunked", "Connection": "x-a, close", "X-A": "1"]),
            HTTPResponseHead(version: .http1_0, status: .notFound, headers: ["Server": "s", "Trailer": "X-Sum", "TE": "trailers"]),
            HTTPResponseHead(version: .http1_1, status: .noContent, headers: [:]),
            HTTPResponseHead(version: .http1_1, status: .notModified, headers: ["ETag": "e"]),
            HTTPResponseHead(version: .http1_1, status: .custom(code: 599, reasonPhrase: "Odd"), headers: ["X": "y"]),
            HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: ["Connection": "Upgrade", "Upgrade": "websocket"]),
        ]
        var head = request([])
        head.method = .HEAD
        let requests = [request([]), request([], version: .http1_0), head]
        for sent in responses {
            let response = try received(sent)
            for request in requests {
                for keepAlive in [true, false] {
                    var written = ByteBuffer()
                    let chunked = ForwardedRequest.writeResponseHead(for: response, request: request, keepAlive: keepAlive, into: &written)
                    let value = ForwardedRequest.responseHead(for: response.httpResponseHead, request: request, keepAlive: keepAlive)
                    #expect(String(buffer: written) == String(buffer: try encodedByNIO(value)), "\(response) to \(request.method) \(request.version) keepAlive \(keepAlive)")
                    #expect(chunked == (value.headers["transfer-encoding"] == ["chunked"]))
                }
            }
        }
    }

    @Test func chunkFraming() {
        var buffer = ByteBuffer()
        for size in [0, 9, 10, 255, 4096, 0x12345] {
            buffer.writeChunkSize(size)
        }
        #expect(String(buffer: buffer) == "0\r\n9\r\na\r\nff\r\n1000\r\n12345\r\n")
        var last = ByteBuffer()
        last.writeLastChunk(trailers: ["X-Sum": "1"])
        #expect(String(buffer: last) == "0\r\nX-Sum: 1\r\n\r\n")
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

    @Test func unframedBodyIsChunkedForHTTP11AndClosesForHTTP10() throws {
        let response = HTTPResponseHead(version: .http1_0, status: .ok, headers: [:])
        let forwarded = ForwardedRequest.responseHead(for: response, request: request([]), keepAlive: true)
        #expect(forwarded.headers["transfer-encoding"] == ["chunked"])
        #expect(!ForwardedRequest.requiresClose(try received(response), request: request([])))
        #expect(ForwardedRequest.requiresClose(try received(response), request: request([], version: .http1_0)))
        let sized = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "3"])
        #expect(!ForwardedRequest.requiresClose(try received(sized), request: request([], version: .http1_0)))
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
