import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small HTTP/1.1 server on 127.0.0.1 standing in for a backend such as MinIO.
///
/// Paths: `/health` answers with ``healthStatus``; `/echo` streams the request body back;
/// `/large?bytes=N` streams N bytes honouring backpressure; `/slow?ms=N` answers after a delay;
/// `/ws` switches protocols and echoes raw bytes; `/close` closes without answering;
/// `/malformed` answers with conflicting `Content-Length` fields, written raw; anything
/// else answers with the backend's name and the forwarding headers it received.
final class TestBackend: Sendable {
    let name: String
    private let channel: any Channel
    private let state: NIOLockedValueBox<BackendState>

    struct BackendState {
        var healthStatus: HTTPResponseStatus = .ok
        var requests: [HTTPRequestHead] = []
        var largeBytesWritten = 0
        var connections: [any Channel] = []
        var requestTrailers: [HTTPHeaders] = []
        /// Set by ``failConnections()``.
        var closesConnections = false
    }

    var port: Int { channel.localAddress!.port! }
    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    var healthStatus: HTTPResponseStatus {
        get { state.withLockedValue { $0.healthStatus } }
        set { state.withLockedValue { $0.healthStatus = newValue } }
    }

    /// Requests received other than health checks.
    var requests: [HTTPRequestHead] { state.withLockedValue { $0.requests } }

    var largeBytesWritten: Int { state.withLockedValue { $0.largeBytesWritten } }

    /// Trailers of the requests that had some.
    var requestTrailers: [HTTPHeaders] { state.withLockedValue { $0.requestTrailers } }

    /// Connections accepted so far, health checks included.
    var connectionCount: Int { state.withLockedValue { $0.connections.count } }

    /// Connections accepted and still open.
    var openConnectionCount: Int { state.withLockedValue { $0.connections.filter(\.isActive).count } }

    private let scheme: String

    private init(name: String, channel: any Channel, state: NIOLockedValueBox<BackendState>, scheme: String) {
        self.scheme = scheme
        self.name = name
        self.channel = channel
        self.state = state
    }

    static func start(
        name: String,
        port: Int = 0,
        tls: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> TestBackend {
        let state = NIOLockedValueBox(BackendState())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let closes = state.withLockedValue { state in
                    state.connections.append(channel)
                    return state.closesConnections
                }
                guard !closes else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false,
                        withErrorHandling: true
                    )
                    try channel.pipeline.syncOperations.addHandler(TestBackendHandler(name: name, state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return TestBackend(name: name, channel: channel, state: state, scheme: tls == nil ? "http" : "https")
    }

    /// Stops listening; connections already open stay until their peer closes them.
    func stop() async {
        try? await channel.close()
    }

    /// Closes every new connection at once, before reading a byte, and every open one: a
    /// backend that fails as a stopped one would, but keeps its port so that no other test's
    /// server can take the port over while the proxy still names it.
    func failConnections() async {
        let open = state.withLockedValue { state in
            state.closesConnections = true
            return state.connections
        }
        for connection in open {
            try? await connection.close()
        }
    }

    /// Stops listening and closes every connection, like a crashed server.
    func kill() async {
        try? await channel.close()
        for connection in state.withLockedValue({ $0.connections }) {
            try? await connection.close()
        }
    }
}

private final class TestBackendHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private let state: NIOLockedValueBox<TestBackend.BackendState>
    private var head: HTTPRequestHead?
    private var echoing = false
    private var largeRemaining = 0
    private var bodyBytes = 0

    init(name: String, state: NIOLockedValueBox<TestBackend.BackendState>) {
        self.name = name
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
            let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
            if path != "/health" {
                state.withLockedValue { $0.requests.append(head) }
            }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
            switch path {
            case "/echo":
                echoing = true
                var headers = HTTPHeaders([("transfer-encoding", "chunked")])
                headers.add(name: "x-backend", value: name)
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            case "/close":
                context.close(promise: nil)
            default:
                break
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if echoing {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
        case .end(let trailers):
            if let trailers {
                state.withLockedValue { $0.requestTrailers.append(trailers) }
            }
            guard let head else { return }
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        let query = head.uri.split(separator: "?").dropFirst().first.map(String.init) ?? ""
        func value(_ name: String) -> Int? {
            query.split(separator: "&").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        switch path {
        case "/health":
            let status = state.withLockedValue { $0.healthStatus }
            send(status: status, body: "", context: context)
        case "/echo":
            echoing = false
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/trailers":
            let headers = HTTPHeaders([("transfer-encoding", "chunked"), ("trailer", "x-digest")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "part one, ")))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "part two")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(["x-digest": "abc123"])), promise: nil)
        case "/count":
            send(status: .ok, body: "\(bodyBytes)", context: context)
        case "/large":
            largeRemaining = value("bytes") ?? 0
            let headers = HTTPHeaders([("content-length", "\(largeRemaining)"), ("x-backend", name)])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            writeLarge(context: context)
        case "/slow":
            let delay = TimeAmount.milliseconds(Int64(value("ms") ?? 100))
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                self.send(status: .ok, body: self.name, context: context)
            }
        case "/malformed":
            // Past the encoder, which would not write this.
            let raw = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
            if let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) {
                encoder.writeAndFlush(NIOAny(IOData.byteBuffer(raw)), promise: nil)
            }
        case "/status":
            send(status: HTTPResponseStatus(statusCode: value("code") ?? 200), body: name, context: context)
        case "/ws" where head.headers.first(name: "upgrade") != nil:
            let headers = HTTPHeaders([("upgrade", "websocket"), ("connection", "upgrade"), ("x-backend", name)])
            let response = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            let pipeline = context.pipeline.syncOperations
            try? pipeline.addHandler(RawEchoHandler())
            for handler in [
                try? pipeline.handler(type: HTTPResponseEncoder.self) as (any RemovableChannelHandler)?,
                try? pipeline.handler(type: NIOHTTPResponseHeadersValidator.self),
                try? pipeline.handler(type: HTTPServerProtocolErrorHandler.self),
            ] {
                if let handler { pipeline.removeHandler(handler, promise: nil) }
            }
            pipeline.removeHandler(context: context, promise: nil)
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                pipeline.removeHandler(decoder, promise: nil)
            }
        case "/ws", "/close":
            break
        default:
            var body = name
            for field in ["host", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "connection", "x-hop"] {
                body += "\n\(field)=\(head.headers[field].joined(separator: ","))"
            }
            send(status: .ok, body: body, context: context)
        }
    }

    private func send(status: HTTPResponseStatus, body: String, context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("content-length", "\(body.utf8.count)"), ("x-backend", name)])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func writeLarge(context: ChannelHandlerContext) {
        let chunkSize = 64 * 1024
        while largeRemaining > 0, context.channel.isWritable {
            let size = min(chunkSize, largeRemaining)
            largeRemaining -= size
            state.withLockedValue { $0.largeBytesWritten += size }
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: UInt8(ascii: "x"), count: size)))), promise: nil)
            if largeRemaining == 0 {
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, largeRemaining > 0 {
            writeLarge(context: context)
        }
        context.fireChannelWritabilityChanged()
    }
}

/// Echoes raw bytes after a protocol switch.
final class RawEchoHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}
