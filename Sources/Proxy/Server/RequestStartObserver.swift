import NIOCore

/// Sits in front of the HTTP/1 decoder and reports the first bytes of the next request, so a
/// keep-alive connection gets the short header-read timeout from its first byte instead of
/// the idle timeout (a slowloris client trickling a head on a kept-alive connection).
final class RequestStartObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Called once on the next read, then cleared; set while the connection waits for a request.
    var onBytes: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let onBytes {
            self.onBytes = nil
            onBytes()
        }
        context.fireChannelRead(data)
    }
}
