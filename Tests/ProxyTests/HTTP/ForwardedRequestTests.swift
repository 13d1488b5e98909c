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
        let chunked = forwarding.write(try RequestHead(request), into: &buffer)
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
        #expect(KnownField(text: "Proxy-Authorization") == .proxyAuthorization)
        #expect(KnownField(text: "x-upgrade") == nil)
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
            HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Connection": "x-forwarded-for, host", "X-Forwarded-For": "1", "Host": "h"]),
            HTTPResponseHead(version: .http1_0, status: .notFound, headers: ["Server": "s", "Trailer": "X-Sum", "TE": "trailers"]),
            HTTPResponseHead(version: .http1_1, status: .noContent, headers: [:]),
            HTTPResponseHead(version: .http1_1, status: .notModified, headers: ["ETag": "e"]),
            HTTPResponseHead(version: .http1_1, status: .custom(code: 599, reasonPhrase: "Odd"), headers: ["X": "y"]),
            HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: ["Connection": "Upgrade", "Upgrade": "websocket"]),
        ]
        var head = request([])
        head.method = .HEAD
        let requests = try [request([]), request([], version: .http1_0), head].map(RequestHead.init)
        for sent in responses {
            let response = try received(sent)
            for request in requests {
                for keepAlive in [true, false] {
                    var written = ByteBuffer()
                    let chunked = ForwardedRequest.writeResponseHead(for: response, request: request, keepAlive: keepAlive, into: &written)
                    let value = ForwardedRequest.responseHead(for: response.httpResponseHead, request: request, keepAlive: keepAlive)
                    #expect(String(buffer: written) == String(buffer: try encodedByNIO(value)), "\(sent) to \(request.method) \(request.version) keepAlive \(keepAlive)")
                    #expect(chunked == (value.headers["transfer-encoding"] == ["chunked"]))
                }
            }
        }
    }

    /// The head a backend receives for `text`, a client's request as it came off the wire.
    private func forwardedBytes(_ text: String, clientIP: String? = "10.0.0.1") throws -> String {
        var parser = RequestParser(maxHeadBytes: 4096)
        var bytes = ByteBuffer(string: text)
        guard case .head(let head) = try parser.next(from: &bytes) else {
            Issue.record("no head in \(text)")
            return ""
        }
        var buffer = ByteBuffer()
        _ = ForwardedRequest(clientIP: clientIP, scheme: "http").write(head, into: &buffer)
        return String(buffer: buffer)
    }

    private let added = "x-forwarded-host: h\r\nx-forwarded-proto: http\r\n\r\n"

    /// The lines that are kept are copied as the client wrote them, spelling and order alike.
    @Test func keptLinesAreCopiedAsTheyCame() throws {
        let wire = try forwardedBytes(
            "GET /a%20b?c HTTP/1.1\r\nHost: h\r\nUser-Agent: ua/1\r\nConnection: keep-alive\r\nAccept:  */*\r\nx-custom:v\r\n\r\n"
        )
        #expect(wire == "GET /a%20b?c HTTP/1.1\r\nHost: h\r\nUser-Agent: ua/1\r\nAccept:  */*\r\nx-custom:v\r\n"
            + "x-forwarded-for: 10.0.0.1\r\nx-real-ip: 10.0.0.1\r\n" + added)
    }

    /// RFC 9110 7.6.1: a field named in `Connection` goes wherever it is, even before it.
    @Test func fieldsNamedInConnectionGoWhereverTheyAre() throws {
        let wire = try forwardedBytes("GET / HTTP/1.1\r\nX-Secret: 1\r\nHost: h\r\nConnection: x-secret, close\r\nx-secret: 2\r\nClose: k\r\n\r\n")
        #expect(wire == "GET / HTTP/1.1\r\nHost: h\r\nClose: k\r\nx-forwarded-for: 10.0.0.1\r\nx-real-ip: 10.0.0.1\r\n" + added)
    }

    /// Beyond the four lines the parser notes, lines are filtered by name, with the same result.
    @Test func manyHopByHopLinesAreAllLeftOut() throws {
        let hops = ["Connection: keep-alive", "Keep-Alive: 5", "Proxy-Connection: x", "TE: trailers", "Trailer: X-Sum", "X-Forwarded-Proto: ftp", "Proxy-Authorization: b"]
        let text = "GET / HTTP/1.1\r\nHost: h\r\n" + hops.map { $0 + "\r\nX-Keep: 1\r\n" }.joined() + "\r\n"
        let wire = try forwardedBytes(text)
        #expect(wire == "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X-Keep: 1\r\n", count: hops.count)
            + "te: trailers\r\nx-forwarded-for: 10.0.0.1\r\nx-real-ip: 10.0.0.1\r\n" + added)
    }

    /// Fields the proxy writes anew that `Connection` names go, so a client cannot slip its own
    /// `X-Forwarded-For` in as a prior hop's that way; `Content-Length` and `Host` stay.
    @Test func forwardingFieldsNamedInConnectionGo() throws {
        let wire = try forwardedBytes(
            "POST / HTTP/1.1\r\nHost: h\r\nConnection: X-Forwarded-For, content-length, host\r\nX-Forwarded-For: 6.6.6.6\r\nContent-Length: 0\r\n\r\n"
        )
        #expect(wire == "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nx-forwarded-for: 10.0.0.1\r\nx-real-ip: 10.0.0.1\r\n" + added)
        let withoutClient = try forwardedBytes("GET / HTTP/1.1\r\nConnection: x-forwarded-host\r\nX-Forwarded-Host: evil\r\n\r\n", clientIP: nil)
        #expect(withoutClient == "GET / HTTP/1.1\r\nx-forwarded-proto: http\r\n\r\n")
    }

    /// Every `X-Forwarded-For` line is joined, as Go's ReverseProxy does, with few lines and many.
    @Test func everyForwardedForLineIsJoined() throws {
        let lines = "X-Forwarded-For: 192.0.2.1\r\nX-Real-IP: x\r\nx-forwarded-for: 192.0.2.2, 192.0.2.3\r\n"
        let expected = "x-forwarded-for: 192.0.2.1, 192.0.2.2, 192.0.2.3, 10.0.0.1\r\nx-real-ip: 10.0.0.1\r\n" + added
        #expect(try forwardedBytes("GET / HTTP/1.1\r\nHost: h\r\n" + lines + "\r\n") == "GET / HTTP/1.1\r\nHost: h\r\n" + expected)
        let many = "Keep-Alive: 1\r\nTE: x\r\nTrailer: y\r\n"
        #expect(try forwardedBytes("GET / HTTP/1.1\r\nHost: h\r\n" + many + lines + "\r\n") == "GET / HTTP/1.1\r\nHost: h\r\n" + expected)
        // Without a client address the client's own fields pass as they are.
        #expect(try forwardedBytes("GET / HTTP/1.1\r\n" + lines + "\r\n", clientIP: nil) == "GET / HTTP/1.1\r\n" + lines + "x-forwarded-proto: http\r\n\r\n")
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

    @Test func responseHeadFollowsClientConnection() throws {
        let response = HTTPResponseHead(
            version: .http1_1,
            status: .ok,
            headers: ["Connection": "keep-alive, X-Hop", "X-Hop": "1", "Transfer-Encoding": "chunked", "ETag": "\"x\""]
        )
        let keep = ForwardedRequest.responseHead(for: response, request: try RequestHead(request([])), keepAlive: true)
        #expect(keep.headers["transfer-encoding"] == ["chunked"])
        #expect(!keep.headers.contains(name: "x-hop"))
        #expect(!keep.headers.contains(name: "connection"))
        #expect(keep.headers["etag"] == ["\"x\""])

        let close = ForwardedRequest.responseHead(for: response, request: try RequestHead(request([])), keepAlive: false)
        #expect(close.headers["connection"] == ["close"])

        let old = ForwardedRequest.responseHead(for: response, request: try RequestHead(request([], version: .http1_0)), keepAlive: true)
        #expect(old.version == .http1_0)
        #expect(!old.headers.contains(name: "transfer-encoding"))
        #expect(old.headers["connection"] == ["keep-alive"])
    }

    @Test func bodilessResponsesAreNotChunked() throws {
        let response = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Transfer-Encoding": "chunked"])
        var head = request([])
        head.method = .HEAD
        let forwarded = ForwardedRequest.responseHead(for: response, request: try RequestHead(head), keepAlive: true)
        #expect(!forwarded.headers.contains(name: "transfer-encoding"))
        let notModified = HTTPResponseHead(version: .http1_1, status: .notModified, headers: ["ETag": "x"])
        #expect(!ForwardedRequest.responseHead(for: notModified, request: try RequestHead(request([])), keepAlive: true).headers.contains(name: "transfer-encoding"))
    }

    @Test func unframedBodyIsChunkedForHTTP11AndClosesForHTTP10() throws {
        let response = HTTPResponseHead(version: .http1_0, status: .ok, headers: [:])
        let forwarded = ForwardedRequest.responseHead(for: response, request: try RequestHead(request([])), keepAlive: true)
        #expect(forwarded.headers["transfer-encoding"] == ["chunked"])
        #expect(!ForwardedRequest.requiresClose(try received(response), request: try RequestHead(request([]))))
        #expect(ForwardedRequest.requiresClose(try received(response), request: try RequestHead(request([], version: .http1_0))))
        let sized = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "3"])
        #expect(!ForwardedRequest.requiresClose(try received(sized), request: try RequestHead(request([], version: .http1_0))))
        #expect(ForwardedRequest.responseHead(for: sized, request: try RequestHead(request([])), keepAlive: true).headers["content-length"] == ["3"])
    }

    @Test func switchingProtocolsResponseKeepsUpgrade() throws {
        let response = HTTPResponseHead(
            version: .http1_1,
            status: .switchingProtocols,
            headers: ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "a"]
        )
        let head = ForwardedRequest.responseHead(for: response, request: try RequestHead(request([])), keepAlive: true)
        #expect(head.headers["upgrade"] == ["websocket"])
        #expect(head.headers["connection"] == ["upgrade"])
    }
}
