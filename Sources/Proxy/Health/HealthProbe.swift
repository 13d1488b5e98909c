import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One health check: `GET path` on a fresh connection, healthy iff the status is 200 within
/// the timeout, as sidekick checks its backends. A fresh connection per check means a check
/// also proves that the backend accepts connections, which pooled traffic would not show.
struct HealthProbe: Sendable {
    var endpoint: BackendEndpoint
    var path: String
    /// The port to check; `0` means the backend's own.
    var port: Int
    var timeout: TimeAmount
    var tlsContext: NIOSSLContext?

    /// Runs the check on `eventLoop`; the future never fails, it reports `false` instead.
    func run(on eventLoop: any EventLoop) -> EventLoopFuture<Bool> {
        let promise = eventLoop.makePromise(of: Bool.self)
        let endpoint = self.endpoint
        let tlsContext = endpoint.scheme == .https ? self.tlsContext : nil
        let request = HTTPRequestHead(
            version: .http1_1,
            method: .GET,
            uri: path,
            headers: ["host": endpoint.hostHeader, "user-agent": "outrider-health", "connection": "close"]
        )
        let connect = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        let hostname = endpoint.isIPAddress ? nil : endpoint.host
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: hostname))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(HealthProbeHandler(request: request, promise: promise))
                }
            }
            .connect(host: endpoint.host, port: port == 0 ? endpoint.port : port)
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.succeed(false)
        }
        connect.whenComplete { result in
            switch result {
            case .success(let channel):
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure:
                promise.succeed(false)
            }
        }
        return promise.futureResult.always { _ in deadline.cancel() }
    }
}

/// Sends the check's request and reports whether the answer was 200.
private final class HealthProbeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let promise: EventLoopPromise<Bool>
    private var healthy = false

    init(request: HTTPRequestHead, promise: EventLoopPromise<Bool>) {
        self.request = request
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            healthy = head.status == .ok
        case .body:
            break
        case .end:
            promise.succeed(healthy)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(false)
        context.close(promise: nil)
    }
}
