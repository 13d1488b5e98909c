import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP client on 127.0.0.1 that writes raw bytes and counts what it receives, for tests of
/// malformed requests, tunnels and slow readers. With `autoRead` off it reads only when told.
final class RawClient: Sendable {
    struct Received {
        var count = 0
        /// The first bytes received, up to 64 KiB.
        var prefix = ByteBuffer()
        var closed = false
    }

    private let channel: any Channel
    private let received: NIOLockedValueBox<Received>

    private init(channel: any Channel, received: NIOLockedValueBox<Received>) {
        self.channel = channel
        self.received = received
    }

    static func connect(port: Int, autoRead: Bool = true, receiveBuffer: Int? = nil) async throws -> RawClient {
        let received = NIOLockedValueBox(Received())
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: autoRead)
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawClient(channel: channel, received: received)
    }

    func write(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func write(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(buffer)
    }

    /// Shuts the client's sending side, as `nc -N` does after its input.
    func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    /// Asks for one more read (with `autoRead` off).
    func read() {
        channel.read()
    }

    /// Switches `autoRead` on: read as fast as the data comes.
    func readFreely() async throws {
        try await channel.setOption(.autoRead, value: true)
        channel.read()
    }

    var count: Int { received.withLockedValue { $0.count } }
    var text: String { received.withLockedValue { String(buffer: $0.prefix) } }
    var isClosed: Bool { received.withLockedValue { $0.closed } }

    func close() async {
        try? await channel.close()
    }
}

private final class RawCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let received: NIOLockedValueBox<RawClient.Received>

    init(received: NIOLockedValueBox<RawClient.Received>) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.withLockedValue { received in
            received.count += buffer.readableBytes
            let room = 64 * 1024 - received.prefix.readableBytes
            if room > 0, let slice = buffer.readSlice(length: min(room, buffer.readableBytes)) {
                var slice = slice
                received.prefix.writeBuffer(&slice)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.withLockedValue { $0.closed = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
