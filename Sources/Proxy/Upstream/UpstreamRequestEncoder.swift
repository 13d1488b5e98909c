import NIOCore
import NIOHTTP1

/// Encodes the requests sent on a backend connection: each head as ``ForwardedRequest`` writes
/// it, the body chunked when that says so (RFC 9112 7.1).
///
/// It sits between the socket (or TLS) and NIO's response decoder, which watches the request
/// heads written through it to know which responses have no body (those to `HEAD`), so the
/// proxy writes the client's own head and this handler rewrites it on the way out.
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    /// Who the next request head is forwarded for; set before the head is written.
    var forwarding = ForwardedRequest(clientIP: nil, scheme: "http")
    /// Whether the body of the request being sent is chunked.
    private(set) var chunked = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            var buffer = context.channel.allocator.buffer(capacity: 512)
            chunked = forwarding.write(head, into: &buffer)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let body):
            guard chunked else {
                context.write(wrapOutboundOut(body), promise: promise)
                return
            }
            // An empty chunk would end the body; there is nothing to send.
            guard body.readableBytes > 0 else {
                promise?.succeed()
                return
            }
            var size = context.channel.allocator.buffer(capacity: 18)
            size.writeChunkSize(body.readableBytes)
            context.write(wrapOutboundOut(.byteBuffer(size)), promise: nil)
            context.write(wrapOutboundOut(body), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(Self.lineEnd)), promise: promise)
        case .end(let trailers):
            if chunked {
                chunked = false
                var last = context.channel.allocator.buffer(capacity: 5)
                last.writeLastChunk(trailers: trailers)
                context.write(wrapOutboundOut(.byteBuffer(last)), promise: promise)
            } else if let promise {
                context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise)
            }
        }
    }

    private static let lineEnd = ByteBuffer(string: "\r\n")
}
