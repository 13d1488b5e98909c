import NIOCore
import NIOHTTP1

/// The last handler of a connection to a backend: hands response parts to the request using
/// the connection and holds back reads while the client cannot keep up.
///
/// Backpressure: the channel keeps `autoRead` on, and this handler swallows the `read` the
/// channel issues after each read burst while the client's channel is not writable, replaying it
/// when the client drains (the technique of NIO's `BackPressureHandler`). A slow client thus
/// slows the backend through TCP flow control instead of filling the proxy's memory.
///
/// References between this handler, its request and its pool are strong and dropped
/// explicitly (on release, close and removal): a weakly referenced object pays for every
/// retain and release, and these are touched several times per request.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let backend: Backend
    /// Encodes what ``writeHead(_:forwarding:)`` and ``write(_:)`` send.
    private let encoder: UpstreamRequestEncoder
    /// The request using the connection; `nil` while the connection idles in the pool.
    var delegate: (any UpstreamDelegate)?
    /// The pool holding the connection while it idles, told when it closes.
    var pool: UpstreamPool?
    /// Closes the connection after `upstream.idle_timeout` unused in the pool.
    private(set) var idleTimer: ConnectionTimer?
    /// Requests sent on this connection, to tell a fresh connection from a reused one.
    var requestCount = 0
    private var context: ChannelHandlerContext?
    private var readHeld = false
    /// Whether something was written since the last flush.
    private var hasUnflushedWrites = false
    private var firstError: (any Error)?
    private(set) var isActive = false

    init(backend: Backend, encoder: UpstreamRequestEncoder) {
        self.backend = backend
        self.encoder = encoder
    }

    var channel: (any Channel)? { context?.channel }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isActive = context.channel.isActive
        idleTimer = ConnectionTimer(eventLoop: context.eventLoop) { [self] in
            guard delegate == nil else { return }
            pool?.forget(self)
            close()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        delegate = nil
        pool = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        idleTimer?.cancel()
        if let delegate {
            self.delegate = nil
            delegate.upstreamClosed(error: firstError)
        } else {
            pool?.forget(self)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let delegate else {
            // A backend must not send anything on an idle connection (RFC 9112 9.3.2 only allows
            // it to close); the connection cannot be trusted any more.
            context.close(promise: nil)
            return
        }
        delegate.upstreamReceived(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if firstError == nil { firstError = error }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let delegate, !delegate.downstreamIsWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Replays a held read once the client can take more bytes.
    func resumeReading() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    /// Sends the head of a client's request, rewritten for the backend as `forwarding` says.
    func writeHead(_ head: HTTPRequestHead, forwarding: ForwardedRequest) {
        encoder.forwarding = forwarding
        write(.head(head))
    }

    /// Sends a body part or the end of the request.
    func write(_ part: HTTPClientRequestPart) {
        if case .end = part, !encoder.chunked {
            // The end of a body framed by its length, or of no body, is nothing on the wire.
            return
        }
        hasUnflushedWrites = true
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() {
        guard hasUnflushedWrites else { return }
        hasUnflushedWrites = false
        context?.flush()
    }

    func close() {
        delegate = nil
        context?.close(promise: nil)
    }
}
