import NIOCore

/// Copies raw bytes between a client connection and a backend connection after a protocol
/// switch (`101 Switching Protocols`, RFC 9110 15.2.2), such as a WebSocket.
///
/// One handler sits at the end of each pipeline and writes what it reads to its partner, with
/// the same backpressure as the HTTP path: a read is held while the partner is not writable.
/// Either side closing closes the other. This is the glue of NIO's connect-proxy example.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readHeld = false

    /// Two handlers that forward to each other.
    static func pair() -> (TunnelHandler, TunnelHandler) {
        let first = TunnelHandler()
        let second = TunnelHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerWrite(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerWritabilityChanged(isWritable: Bool) {
        guard isWritable, readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    /// The partner's peer will send no more: this side's peer is told so by a half-close,
    /// and the tunnel closes once both are done, or at once where a half-close is not possible.
    private func partnerInputClosed() {
        context?.shutOutput()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            partner?.partnerInputClosed()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        partner?.partnerWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let partner, !partner.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }
}
