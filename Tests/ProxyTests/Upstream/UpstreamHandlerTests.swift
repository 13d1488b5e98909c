import CoreMetrics
import Logging
import MetricsTestKit
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

    private let metrics = TestMetrics()

    /// How many connections were closed for `reason`.
    private func closed(for reason: UpstreamProtocolErrors.Reason) -> Int64 {
        (try? metrics.expectCounter("upstream_protocol_errors_total", [("reason", reason.rawValue)]).totalValue) ?? 0
    }

    private func connection() throws -> (UpstreamHandler, EmbeddedChannel) {
        let endpoint = BackendEndpoint(scheme: .http, host: "127.0.0.1", port: 1)
        let backendMetrics = BackendMetrics(site: "site1", backend: endpoint.description, factory: NOOPMetricsHandler.instance)
        let backend = Backend(key: BackendKey(site: "site1", endpoint: endpoint), metrics: backendMetrics, now: .now())
        let errors = UpstreamProtocolErrors(factory: metrics, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let handler = UpstreamHandler(backend: backend, errors: errors)
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
        #expect(closed(for: .bytesWhileIdle) == 1)
    }

    @Test func partOfAResponseOnAnIdleConnectionClosesIt() throws {
        let (_, channel) = try connection()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 2"))
        #expect(!channel.isActive)
        #expect(closed(for: .bytesWhileIdle) == 1)
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
        #expect(closed(for: .bytesAfterResponse) == 1)
    }

    /// A request taken from the pipelining queue as a response ends must not get this
    /// connection while the rest of the read is unseen: the bytes behind the response would be
    /// its answer.
    @Test func connectionIsNotFreeWhileItsReadIsParsed() throws {
        let (handler, channel) = try connection()
        final class AskingDelegate: UpstreamDelegate {
            let handler: UpstreamHandler
            var freeAtEnd: Bool?
            init(handler: UpstreamHandler) { self.handler = handler }
            var downstreamIsWritable: Bool { true }
            func upstreamReceived(_ part: ResponseParser.Part) {
                if case .end = part {
                    handler.delegate = nil
                    freeAtEnd = handler.isFree
                }
            }
            func upstreamReadComplete() {}
            func upstreamWritabilityChanged(isWritable: Bool) {}
            func upstreamClosed(error: (any Error)?) {}
        }
        let asking = AskingDelegate(handler: handler)
        handler.delegate = asking
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
        #expect(asking.freeAtEnd == false)
        #expect(handler.isFree)
        #expect(channel.isActive)
    }

    /// RFC 9110 9.3.6: a 2xx answer to CONNECT has no content, whatever its framing fields say,
    /// and the bytes after its head are the tunnel's.
    @Test func twoHundredToConnectOpensATunnel() throws {
        let (handler, channel) = try connection()
        let delegate = RecordingDelegate()
        handler.delegate = delegate
        let head = try RequestHead(HTTPRequestHead(version: .http1_1, method: .CONNECT, uri: "tunnel:443", headers: ["host": "tunnel:443"]))
        handler.writeHead(head, forwarding: ForwardedRequest(clientIP: nil, scheme: "http"))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n"))
        #expect(delegate.parts == ["head 200", "end"])
        #expect(channel.isActive)
        #expect(closed(for: .bytesAfterResponse) == 0)
    }

    @Test func malformedResponseIsCounted() throws {
        let (handler, channel) = try connection()
        handler.delegate = RecordingDelegate()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"))
        #expect(!channel.isActive)
        #expect(closed(for: .malformedResponse) == 1)
    }
}
