import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct UpstreamRequestEncoderTests {
    /// Everything the encoder wrote, as text.
    private func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let bytes) = part else { continue }
            text += String(buffer: bytes)
        }
        return text
    }

    private func head(_ method: HTTPMethod, _ headers: HTTPHeaders) -> HTTPClientRequestPart {
        .head(HTTPRequestHead(version: .http1_1, method: method, uri: "/up", headers: headers))
    }

    @Test func chunkedBodyIsFramedAndEndsWithTrailers() throws {
        let encoder = UpstreamRequestEncoder()
        encoder.forwarding = ForwardedRequest(clientIP: "192.0.2.7", scheme: "https")
        let channel = EmbeddedChannel(handler: encoder)
        defer { _ = try? channel.finish() }
        try channel.writeOutbound(head(.POST, ["Host": "h", "Transfer-Encoding": "chunked"]))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "hello world!"))))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer())))
        try channel.writeOutbound(HTTPClientRequestPart.end(["X-Sum": "9"]))
        #expect(
            try written(channel)
                == "POST /up HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\nx-forwarded-for: 192.0.2.7\r\n"
                + "x-real-ip: 192.0.2.7\r\nx-forwarded-host: h\r\nx-forwarded-proto: https\r\n\r\n"
                + "c\r\nhello world!\r\n0\r\nX-Sum: 9\r\n\r\n"
        )
        #expect(!encoder.chunked)
    }

    @Test func sizedBodyPassesAsItIs() throws {
        let encoder = UpstreamRequestEncoder()
        let channel = EmbeddedChannel(handler: encoder)
        defer { _ = try? channel.finish() }
        try channel.writeOutbound(head(.PUT, ["Content-Length": "5"]))
        #expect(!encoder.chunked)
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "abcde"))))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        #expect(try written(channel) == "PUT /up HTTP/1.1\r\nContent-Length: 5\r\nx-forwarded-proto: http\r\n\r\nabcde")
    }

    /// NIO's response decoder, behind the encoder, sees the client's `HEAD` and so reads the
    /// backend's answer as bodiless despite its `Content-Length`.
    @Test func responseDecoderLearnsOfHeadRequests() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(UpstreamRequestEncoder())
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder()))
        try channel.writeOutbound(head(.HEAD, ["Host": "h"]))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"))
        guard case .head(let response) = try channel.readInbound(as: HTTPClientResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(response.status == .ok)
        guard case .end = try channel.readInbound(as: HTTPClientResponsePart.self) else {
            Issue.record("the response to HEAD did not end at its head")
            return
        }
    }
}
