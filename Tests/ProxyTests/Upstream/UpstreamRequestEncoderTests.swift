import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct UpstreamRequestEncoderTests {
    private let allocator = ByteBufferAllocator()

    private func head(_ method: HTTPMethod, _ headers: HTTPHeaders) throws -> RequestHead {
        try RequestHead(HTTPRequestHead(version: .http1_1, method: method, uri: "/up", headers: headers))
    }

    /// What `encoder` puts on the wire for `body`, as text.
    private func text(_ encoder: UpstreamRequestEncoder, body: String) -> String {
        var text = ""
        encoder.body(.byteBuffer(ByteBuffer(string: body)), allocator: allocator) { part in
            guard case .byteBuffer(let bytes) = part else { return }
            text += String(buffer: bytes)
        }
        return text
    }

    @Test func chunkedBodyIsFramedAndEndsWithTrailers() throws {
        var encoder = UpstreamRequestEncoder()
        let forwarding = ForwardedRequest(clientIP: "192.0.2.7", scheme: "https")
        var wire = String(buffer: encoder.head(try head(.POST, ["Host": "h", "Transfer-Encoding": "chunked"]), forwarding: forwarding, allocator: allocator))
        #expect(encoder.chunked)
        wire += text(encoder, body: "hello world!")
        #expect(text(encoder, body: "").isEmpty)
        wire += encoder.end(["X-Sum": "9"], allocator: allocator).map { String(buffer: $0) } ?? ""
        #expect(
            wire
                == "POST /up HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\nx-forwarded-for: 192.0.2.7\r\n"
                + "x-real-ip: 192.0.2.7\r\nx-forwarded-host: h\r\nx-forwarded-proto: https\r\n\r\n"
                + "c\r\nhello world!\r\n0\r\nX-Sum: 9\r\n\r\n"
        )
        #expect(!encoder.chunked)
    }

    @Test func sizedBodyPassesAsItIs() throws {
        var encoder = UpstreamRequestEncoder()
        let forwarding = ForwardedRequest(clientIP: nil, scheme: "http")
        var wire = String(buffer: encoder.head(try head(.PUT, ["Content-Length": "5"]), forwarding: forwarding, allocator: allocator))
        #expect(!encoder.chunked)
        wire += text(encoder, body: "abcde")
        #expect(encoder.end(nil, allocator: allocator) == nil)
        #expect(wire == "PUT /up HTTP/1.1\r\nContent-Length: 5\r\nx-forwarded-proto: http\r\n\r\nabcde")
    }
}
