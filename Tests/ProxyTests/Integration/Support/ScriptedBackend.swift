import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A backend on 127.0.0.1 that answers with exactly the bytes a test scripts, when it says, so
/// that it can misbehave on purpose: a body after a `HEAD`, bytes after a response, a tunnel
/// after `CONNECT`, an answer before the request body is read.
///
/// It reads request heads (the body, by `Content-Length`, is read and dropped), answers
/// `GET /health` itself, and records every head it received per connection, so a test can
/// tell which connection carried which request.
final class ScriptedBackend: Sendable {
    /// Bytes to write, each after a delay counted from the one before.
    struct Chunk: Sendable {
        var bytes: String
        var delay: Duration = .zero
        /// Whether the connection is closed once these bytes are written (a backend that breaks off).
        var closes = false
    }

    /// The answer to a request head (its text, without the empty line), on connection number
    /// `connection` (from 0, health checks included).
    typealias Script = @Sendable (_ head: String, _ connection: Int) -> [Chunk]

    private let channel: any Channel
    private let state: NIOLockedValueBox<[[String]]>

    var port: Int { channel.localAddress!.port! }
    var url: String { "http://127.0.0.1:\(port)" }

    /// The request heads each connection received, health checks left out; connections that
    /// received none are left out too.
    var requests: [[String]] {
        state.withLockedValue { $0.map { $0.filter { !$0.hasPrefix("GET /health ") } }.filter { !$0.isEmpty } }
    }

    private init(channel: any Channel, state: NIOLockedValueBox<[[String]]>) {
        self.channel = channel
        self.state = state
    }

    static func start(_ script: @escaping Script) async throws -> ScriptedBackend {
        let state = NIOLockedValueBox<[[String]]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let number = state.withLockedValue { heads in
                    heads.append([])
                    return heads.count - 1
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedConnection(number: number, state: state, script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedBackend(channel: channel, state: state)
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ScriptedConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let number: Int
    private let state: NIOLockedValueBox<[[String]]>
    private let script: ScriptedBackend.Script
    private var buffer = ByteBuffer()
    private var bodyLeft = 0
    /// After a 2xx to CONNECT: bytes read are echoed, prefixed with `tunnel:`.
    private var isTunnel = false
    /// When the last bytes scheduled are written.
    private var lastWriteAt = NIODeadline.uptimeNanoseconds(0)

    init(number: Int, state: NIOLockedValueBox<[[String]]>, script: @escaping ScriptedBackend.Script) {
        self.number = number
        self.state = state
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if isTunnel {
            var echo = ByteBuffer(string: "tunnel:")
            echo.writeBuffer(&bytes)
            context.writeAndFlush(NIOAny(echo), promise: nil)
            return
        }
        buffer.writeBuffer(&bytes)
        while true {
            if bodyLeft > 0 {
                let dropped = min(bodyLeft, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: dropped)
                bodyLeft -= dropped
                if bodyLeft > 0 { return }
            }
            let text = String(buffer: buffer)
            guard let end = text.range(of: "\r\n\r\n") else { return }
            let head = String(text[..<end.lowerBound])
            buffer.moveReaderIndex(forwardBy: text.utf8.distance(from: text.startIndex, to: end.upperBound))
            state.withLockedValue { $0[number].append(head) }
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                bodyLeft = Int(String(line.split(separator: ":")[1].filter(\.isNumber))) ?? 0
            }
            if head.hasPrefix("GET /health ") {
                context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")), promise: nil)
                continue
            }
            let chunks = script(head, number)
            if head.hasPrefix("CONNECT "), chunks.first?.bytes.hasPrefix("HTTP/1.1 2") == true {
                isTunnel = true
            }
            write(chunks, channel: context.channel)
        }
    }

    /// Writes `chunks` in order after everything scheduled before, as a server that answers
    /// one request at a time does: the answer to a later request waits for the bytes still due
    /// on the earlier one.
    private func write(_ chunks: [ScriptedBackend.Chunk], channel: any Channel) {
        for chunk in chunks {
            let now = NIODeadline.now()
            let at = max(now, lastWriteAt) + TimeAmount(chunk.delay)
            lastWriteAt = at
            let bytes = ByteBuffer(string: chunk.bytes)
            let closes = chunk.closes
            let send = {
                let written = channel.writeAndFlush(bytes)
                if closes { written.whenComplete { _ in channel.close(promise: nil) } }
            }
            if at <= now {
                send()
            } else {
                channel.eventLoop.scheduleTask(deadline: at) { send() }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
