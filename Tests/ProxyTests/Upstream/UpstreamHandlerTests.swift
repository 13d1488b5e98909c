import CoreMetrics
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct UpstreamHandlerTests {
    /// What a request using the connection was told.
    private final class RecordingDelegate: UpstreamDelegate {
        var parts: [String] = []
        var closed = false
        var downstreamIsWritable: Bool { true }

        func upstreamReceived(_ part: ResponseParser.Part) {
            switch part {
            case .head(let head): parts.append("head \(head.statusCode)")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
        }

        func upstreamReadComplete() {}
        func upstreamWritabilityChanged(isWritable: Bool) {}
        func upstreamClosed(error: (any Error)?) { closed = true }
    }

    private func connection() throws -> (UpstreamHandler, EmbeddedChannel) {
        let endpoint = BackendEndpoint(scheme: .http, host: "127.0.0.1", port: 1)
        let metrics = BackendMetrics(site: "site1", backend: endpoint.description, factory: NOOPMetricsHandler.instance)
        let backend = Backend(key: BackendKey(site: "site1", endpoint: endpoint), metrics: metrics, now: .now())
        let handler = UpstreamHandler(backend: backend)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (handler, channel)
    }

    @Test func responseInOneReadReachesTheRequest() throws {
        let (handler, channel) = try connection()
        let delegate = RecordingDelegate()
        handler.delegate = delegate
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
        #expect(delegate.parts == ["head 200", "body hi", "end"])
        #expect(channel.isActive)
    }

    @Test func responseSplitAnywhereReachesTheRequestAlike() throws {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        for split in 1..<response.utf8.count {
            let (handler, channel) = try connection()
            let delegate = RecordingDelegate()
            handler.delegate = delegate
            let bytes = Array(response.utf8)
            try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
            #expect(delegate.parts.first == "head 200", "split at \(split)")
            #expect(delegate.parts.last == "end", "split at \(split)")
            #expect(delegate.parts.filter { $0.hasPrefix("body") }.map { $0.dropFirst(5) }.joined() == "hi", "split at \(split)")
            #expect(channel.isActive, "split at \(split)")
        }
    }

    /// A whole response on an idle connection, which no request asked for, would otherwise be
    /// taken as the answer to the next request sent on it.
    @Test func wholeResponseOnAnIdleConnectionClosesIt() throws {
        let (_, channel) = try connection()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(!channel.isActive)
    }

    @Test func partOfAResponseOnAnIdleConnectionClosesIt() throws {
        let (_, channel) = try connection()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 2"))
        #expect(!channel.isActive)
    }

    @Test func bytesAfterTheResponseCloseTheConnection() throws {
        let (handler, channel) = try connection()
        final class ReleasingDelegate: UpstreamDelegate {
            let handler: UpstreamHandler
            var parts = 0
            init(handler: UpstreamHandler) { self.handler = handler }
            var downstreamIsWritable: Bool { true }
            func upstreamReceived(_ part: ResponseParser.Part) {
                parts += 1
                // The response ended: the request lets the connection go, as it does into the pool.
                if case .end = part { handler.delegate = nil }
            }
            func upstreamReadComplete() {}
            func upstreamWritabilityChanged(isWritable: Bool) {}
            func upstreamClosed(error: (any Error)?) {}
        }
        let releasing = ReleasingDelegate(handler: handler)
        handler.delegate = releasing
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
        #expect(releasing.parts == 2)
        #expect(!channel.isActive)
    }
}
