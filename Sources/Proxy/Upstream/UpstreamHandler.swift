import NIOCore
import NIOHTTP1

/// The only handler of a connection to a backend (behind TLS, if any): writes the requests
/// (see ``UpstreamRequestEncoder``), reads the responses (see ``ResponseParser``), hands them
/// to the request using the connection, and holds back reads while the client cannot keep up.
///
/// Backpressure: the channel keeps `autoRead` on, and this handler swallows the `read` the
/// channel issues after each read burst while the client's channel is not writable, replaying it
/// when the client drains (the technique of NIO's `BackPressureHandler`). A slow client thus
/// slows the backend through TCP flow control instead of filling the proxy's memory.
///
/// A connection is reused only when nothing can be left of the last response on it: see
/// ``isReusable(now:)``. Bytes that arrive while no request is outstanding are a protocol
/// error, counted and logged, and the connection is closed (see ``UpstreamProtocolErrors``).
///
/// References between this handler, its request and its pool are strong and dropped
/// explicitly (on release, close and removal): a weakly referenced object pays for every
/// retain and release, and these are touched several times per request.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    let backend: Backend
    private let errors: UpstreamProtocolErrors
    /// The request using the connection; `nil` while the connection idles in the pool.
    var delegate: (any UpstreamDelegate)?
    /// The pool holding the connection while it idles, told when it closes.
    var pool: UpstreamPool?
    /// Closes the connection after `upstream.idle_timeout` unused in the pool.
    private(set) var idleTimer: ConnectionTimer?
    /// Requests sent on this connection, to tell a fresh connection from a reused one.
    var requestCount = 0
    private var encoder = UpstreamRequestEncoder()
    private var parser = ResponseParser()
    /// Bytes read and not yet parsed: part of a head or chunk line, or, after a protocol
    /// switch, the first bytes of the new protocol.
    private var unparsed: ByteBuffer?
    private var context: ChannelHandlerContext?
    /// The channel's allocator, kept (see ``ProxyHandler``).
    private var allocator = ByteBufferAllocator()
    private var readHeld = false
    /// Whether something was written since the last flush.
    private var hasUnflushedWrites = false
    private var firstError: (any Error)?
    private(set) var isActive = false
    /// Set while a read is being parsed: a connection whose response ended in this read is not
    /// handed to another request until the rest of the read has been seen (a pipelined request
    /// taken from the queue as the response ends would otherwise get the bytes behind it).
    private var isReading = false
    /// Set while a read is being parsed once a response in it has ended.
    private var responseEndedInRead = false
    /// Until when the connection waits in the pool before it may carry another request, after
    /// a response that has no body by rule (see ``UpstreamPool/release(_:settings:now:settle:)``).
    var settlesUntil: NIODeadline?

    init(backend: Backend, errors: UpstreamProtocolErrors) {
        self.backend = backend
        self.errors = errors
    }

    /// Whether the connection may carry a new request, its settling time aside (see
    /// ``settlesUntil``): it is open and no read of it is being parsed.
    var isFree: Bool {
        isActive && !isReading
    }

    var channel: (any Channel)? { context?.channel }

    /// The channel's writability, kept up to date from its events rather than asked of the
    /// channel: it is consulted on every read of the client's connection.
    private(set) var isWritable = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        isActive = context.channel.isActive
        isWritable = context.channel.isWritable
        idleTimer = ConnectionTimer(eventLoop: context.eventLoop) { [self] in
            guard delegate == nil else { return }
            pool?.forget(self)
            close()
        }
    }

    /// Hands bytes read past a protocol switch to the handler that takes over the connection.
    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        delegate = nil
        pool = nil
        isWritable = false
        if let unparsed, unparsed.readableBytes > 0, context.channel.isActive {
            self.unparsed = nil
            context.fireChannelRead(NIOAny(unparsed))
        }
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
            do {
                if let part = try parser.connectionClosed(leftover: unparsed?.readableBytes ?? 0) {
                    delegate.upstreamReceived(part)
                }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let delegate = self.delegate {
            self.delegate = nil
            delegate.upstreamClosed(error: firstError)
        } else {
            pool?.forget(self)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var pending = unparsed {
            unparsed = nil
            pending.writeBuffer(&buffer)
            buffer = pending
        }
        isReading = true
        responseEndedInRead = false
        defer { isReading = false }
        do {
            while let part = try parser.next(from: &buffer) {
                guard let delegate else {
                    untrustedBytes()
                    return
                }
                if parser.hasSwitchedProtocols {
                    // Kept before the switch is handed on: the handler then leaves the pipeline
                    // and passes what remains to the tunnel.
                    unparsed = buffer.readableBytes > 0 ? buffer : nil
                }
                if case .end = part {
                    responseEndedInRead = true
                }
                delegate.upstreamReceived(part)
                guard self.context != nil else { return }
            }
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        if buffer.readableBytes > 0 {
            guard delegate != nil else {
                untrustedBytes()
                return
            }
            unparsed = buffer
        }
    }

    /// A backend must not send anything on an idle connection (RFC 9112 9.3.2 only allows it to
    /// close), nor more than the response: the connection cannot be trusted any more.
    private func untrustedBytes() {
        unparsed = nil
        errors.record(responseEndedInRead ? .bytesAfterResponse : .bytesWhileIdle, backend: backend.endpoint)
        close()
    }

    /// A `101` that answered no request to upgrade: the connection is closed by the request.
    func recordUnaskedSwitch() {
        errors.record(.unaskedSwitch, backend: backend.endpoint)
    }

    /// Not passed on: this is the last handler, and the pipeline's tail has no use for it.
    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        delegate?.upstreamWritabilityChanged(isWritable: isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if firstError == nil { firstError = error }
        if let error = error as? HTTP1ParseError {
            errors.record(.malformedResponse, backend: backend.endpoint, detail: error.description)
        }
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
    func writeHead(_ head: RequestHead, forwarding: ForwardedRequest) {
        guard let context else { return }
        parser.answersHead = head.isHEAD
        parser.answersConnect = head.isCONNECT
        write(.byteBuffer(encoder.head(head, forwarding: forwarding, allocator: allocator)), context: context)
    }

    /// Sends the head of a client's request with `extra` fields (a cache's revalidation
    /// conditions) added.
    func writeHead(_ head: RequestHead, forwarding: ForwardedRequest, adding extra: HTTPHeaders) {
        guard let context else { return }
        parser.answersHead = head.isHEAD
        parser.answersConnect = head.isCONNECT
        write(.byteBuffer(encoder.head(head, forwarding: forwarding, adding: extra, allocator: allocator)), context: context)
    }

    /// Sends a body part or the end of the request.
    func write(_ part: RequestBodyPart) {
        guard let context else { return }
        switch part {
        case .body(let body):
            encoder.body(body, allocator: allocator) { write($0, context: context) }
        case .end(let trailers):
            if let bytes = encoder.end(trailers, allocator: allocator) {
                write(.byteBuffer(bytes), context: context)
            }
        }
    }

    private func write(_ bytes: IOData, context: ChannelHandlerContext) {
        hasUnflushedWrites = true
        context.write(wrapOutboundOut(bytes), promise: nil)
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
