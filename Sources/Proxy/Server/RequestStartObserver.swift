import NIOCore

/// Sits in front of the HTTP/1 decoder and reports the first bytes of the next request, so a
/// keep-alive connection gets the short header-read timeout from its first byte instead of
/// the idle timeout (a slowloris client trickling a head on a kept-alive connection).
final class RequestStartObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Called on the first read after ``isArmed`` was set, which it clears.
    var onBytes: (() -> Void)?
    /// Set while the connection waits for a request; a flag rather than a new closure per
    /// request, so waiting allocates nothing.
    var isArmed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if isArmed {
            isArmed = false
            onBytes?()
        }
        context.fireChannelRead(data)
    }
}
