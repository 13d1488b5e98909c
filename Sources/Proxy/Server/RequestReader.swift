import NIOCore
import NIOHTTP1

/// Reads HTTP/1 requests off a client connection with ``RequestParser`` and hands their parts
/// to the connection's ``ProxyHandler`` by a direct call, not through the pipeline, so a part
/// is neither boxed nor cast on its way. The end of a read burst goes the same way and stops
/// there: the handlers after this one are the proxy and the pipeline's tail, which has no use
/// for it.
///
/// Bytes that do not make a request are reported with `errorCaught`, which the proxy answers
/// with 400 (or what ``HTTP1ParseError/status`` says) and closes; nothing after them is read.
/// Bytes after a request that asks to switch protocols stay here unparsed and are passed on
/// to the next handler, the tunnel, when this handler leaves the pipeline.
final class RequestReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var parser: RequestParser
    private let proxy: ProxyHandler
    /// Bytes read but not parsed yet: the start of a part still incomplete.
    private var unparsed: ByteBuffer?
    private var failed = false

    init(proxy: ProxyHandler, maxHeadBytes: Int) {
        self.proxy = proxy
        self.parser = RequestParser(maxHeadBytes: maxHeadBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var buffer = unwrapInboundIn(data)
        if var pending = unparsed {
            unparsed = nil
            pending.writeBuffer(&buffer)
            buffer = pending
        }
        do {
            while let part = try parser.next(from: &buffer) {
                proxy.requestPartReceived(part)
            }
        } catch {
            failed = true
            context.fireErrorCaught(error)
            return
        }
        if buffer.readableBytes > 0 {
            unparsed = buffer
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        proxy.readComplete(holdsPartOfARequest: unparsed != nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let unparsed, context.channel.isActive {
            self.unparsed = nil
            context.fireChannelRead(wrapInboundOut(unparsed))
        }
    }
}
