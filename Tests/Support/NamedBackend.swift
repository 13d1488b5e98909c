import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP backend on loopback that answers every request `200` with its name as the body, so a test sees which
/// backend a proxy (outrider's, or nginx) chose.
public final class NamedBackend: Sendable {
    public let name: String
    public let channel: any Channel
    public var port: Int { channel.localAddress?.port ?? 0 }

    public init(name: String, group: any EventLoopGroup) async throws {
        self.name = name
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(name: name))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    public func stop() async throws { try await channel.close() }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let name: String

        init(name: String) { self.name = name }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let body = ByteBuffer(string: name)
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
