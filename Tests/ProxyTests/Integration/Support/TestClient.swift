import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A response as a test client saw it.
struct TestResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
    var trailers: HTTPHeaders?

    var status: HTTPResponseStatus { head.status }
    var text: String { String(buffer: body) }
}

/// An HTTP/1.1 client on one connection to 127.0.0.1, sending requests one after another.
final class TestClient: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<TestClientHandler>

    private init(channel: any Channel, handler: NIOLoopBound<TestClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(
        port: Int,
        tls: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> TestClient {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(TestClientHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: TestClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return TestClient(channel: channel, handler: handler)
    }

    /// Sends one request and waits for the whole response.
    func send(
        _ method: HTTPMethod = .GET,
        _ uri: String,
        headers: HTTPHeaders = [:],
        body: ByteBuffer? = nil,
        trailers: HTTPHeaders? = nil
    ) async throws -> TestResponse {
        var headers = headers
        if !headers.contains(name: "host") { headers.add(name: "host", value: "proxy.test") }
        if let body, !headers.contains(name: "transfer-encoding") {
            headers.add(name: "content-length", value: "\(body.readableBytes)")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        let handler = self.handler
        let channel = self.channel
        return try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: TestResponse.self)
            // A proxy that neither answers nor closes fails the test instead of stalling the suite.
            let deadline = channel.eventLoop.scheduleTask(in: .seconds(20)) {
                promise.fail(NoResponse(method: method, uri: uri))
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            handler.value.expect(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(trailers), promise: nil)
            return promise.futureResult
        }.get()
    }

    var isActive: Bool { channel.isActive }

    /// The certificate the server presented, on a TLS connection.
    func peerCertificate() async throws -> NIOSSLCertificate? {
        try await channel.nioSSL_peerCertificate().get()
    }

    func close() async {
        try? await channel.close()
    }

    /// One request on a fresh connection.
    static func get(port: Int, _ uri: String, method: HTTPMethod = .GET, headers: HTTPHeaders = [:]) async throws -> TestResponse {
        let client = try await connect(port: port)
        defer { Task { await client.close() } }
        return try await client.send(method, uri, headers: headers)
    }
}

/// No response within the test client's wait.
struct NoResponse: Error, CustomStringConvertible {
    var method: HTTPMethod
    var uri: String
    var description: String { "no response to \(method) \(uri) within 20 seconds" }
}

private final class TestClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Closed: Error {}

    private var promise: EventLoopPromise<TestResponse>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    private var closed = false

    func expect(_ promise: EventLoopPromise<TestResponse>) {
        guard !closed else {
            promise.fail(Closed())
            return
        }
        self.promise = promise
        head = nil
        body.clear()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code >= 200 || head.status == .switchingProtocols { self.head = head }
        case .body(var buffer):
            body.writeBuffer(&buffer)
        case .end(let trailers):
            if let head {
                promise?.succeed(TestResponse(head: head, body: body, trailers: trailers))
                promise = nil
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        promise?.fail(Closed())
        promise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.close(promise: nil)
    }
}
