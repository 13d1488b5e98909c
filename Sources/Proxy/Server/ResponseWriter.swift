import NIOCore
import NIOHTTP1

/// Writes the responses of one client connection in its wire format: ``HTTP1ResponseWriter``
/// encodes HTTP/1 itself, ``HTTP2ResponseWriter`` hands parts to an HTTP/2 stream's codec.
/// Used by ``ProxyHandler`` on the connection's event loop, between ``attach(_:)`` and
/// ``detach()``.
protocol ResponseWriter: AnyObject {
    func attach(_ context: ChannelHandlerContext)
    func detach()
    /// Writes a head as it is: the proxy's own answers.
    func writeHead(_ head: HTTPResponseHead)
    /// Writes an interim (1xx) response from a backend, its hop-by-hop fields left out.
    func writeInterim(_ response: ResponseHead, request: RequestHead)
    /// Writes the head of a backend's response, rewritten for the client.
    func writeForwardedHead(_ response: ResponseHead, request: RequestHead, keepAlive: Bool)
    /// A backend's head as a value, with fields added to it (by the response cache); framed
    /// as ``ForwardedRequest/responseHead(for:request:keepAlive:)`` says.
    func writeForwardedHead(_ response: HTTPResponseHead, request: RequestHead, keepAlive: Bool)
    func writeBody(_ body: ByteBuffer)
    /// Whether something was written since the last flush.
    var hasUnflushedWrites: Bool { get }
    func flush()
    /// Ends the response and flushes it; `promise` completes once it is written.
    func writeEnd(_ trailers: HTTPHeaders?, promise: EventLoopPromise<Void>?)
}

extension ResponseWriter {
    func writeInterim(_ response: ResponseHead, request: RequestHead) {
        // 100 Continue (the answer to `Expect: 100-continue`) and other interim responses
        // pass through; the final response follows (RFC 9110 15.2).
        var interim = response.httpResponseHead
        interim.headers.removeHopByHopFields()
        interim.version = request.version.responseVersion
        writeHead(interim)
    }
}

/// Encodes the responses of an HTTP/1 connection as bytes, so that a backend's head is written
/// to the client once, filtered on the way (see ``ForwardedRequest``).
///
/// A forwarded head is held back until the next write, flush or end, so that a small body read
/// with it (most responses fit in one read) is copied in behind it and the whole response goes
/// down the pipeline as one buffer, in one system call.
final class HTTP1ResponseWriter: ResponseWriter {
    private var context: ChannelHandlerContext?
    /// The channel's allocator, kept: reaching it through the context costs a reference count
    /// on the channel each time.
    private var allocator = ByteBufferAllocator()
    /// Whether the response being written has a chunked body.
    private var chunkedResponse = false
    private(set) var hasUnflushedWrites = false
    /// A response head not written yet, with the body bytes copied in behind it so far.
    private var heldBack: ByteBuffer?
    /// The memory of the last response head, for the next one.
    private var spareHeadBuffer = SpareBuffer()

    /// Bodies up to this size are copied behind their head; a copy of a few kilobytes costs
    /// less than another buffer through the pipeline.
    static let coalescedBodyBytes = 16 * 1024
    /// Room made for a head written from fields (it grows if they need more).
    static let headBytes = 1024

    func attach(_ context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
    }

    func detach() {
        context = nil
    }

    func writeHead(_ head: HTTPResponseHead) {
        hasUnflushedWrites = true
        guard head.status.code >= 200 else {
            var buffer = allocator.buffer(capacity: 256)
            buffer.writeResponseHead(head)
            write(.byteBuffer(buffer))
            return
        }
        chunkedResponse = false
        // A final head is held back like a forwarded one, with room for a small body (a stored
        // response's length is known) to follow it in the same buffer.
        let bodyBytes = head.headers.first(name: "content-length").flatMap(Int.init).map { $0 <= Self.coalescedBodyBytes ? $0 : 0 } ?? 0
        var buffer = spareHeadBuffer.take(capacity: Self.headBytes + bodyBytes, allocator: allocator)
        buffer.writeResponseHead(head)
        writeHeldBack()
        heldBack = buffer
    }

    /// A stored response's head kept as bytes (a plain cache hit), held back like any final
    /// head, with room for a small body behind it; `connection` is the client connection's
    /// `Connection` value when one must be sent.
    func writeStoredHead(_ head: StoredHeadBytes, version: HTTPVersion, connection: StaticString?) {
        hasUnflushedWrites = true
        chunkedResponse = false
        let bodyBytes = head.contentLength <= Self.coalescedBodyBytes ? head.contentLength : 0
        var buffer = spareHeadBuffer.take(capacity: head.maximumLength + bodyBytes, allocator: allocator)
        head.write(version: version, connection: connection, into: &buffer)
        writeHeldBack()
        heldBack = buffer
    }

    func writeForwardedHead(_ response: ResponseHead, request: RequestHead, keepAlive: Bool) {
        hasUnflushedWrites = true
        let headBytes = ForwardedRequest.maximumLength(of: response)
        let bodyBytes = response.fields.contentLength.map { $0 <= Self.coalescedBodyBytes ? $0 : 0 } ?? 0
        var buffer = spareHeadBuffer.take(capacity: headBytes + bodyBytes, allocator: allocator)
        chunkedResponse = ForwardedRequest.writeResponseHead(for: response, request: request, keepAlive: keepAlive, into: &buffer)
        writeHeldBack()
        heldBack = buffer
    }

    func writeForwardedHead(_ response: HTTPResponseHead, request: RequestHead, keepAlive: Bool) {
        let framed = ForwardedRequest.responseHead(for: response, request: request, keepAlive: keepAlive)
        hasUnflushedWrites = true
        writeHeldBack()
        chunkedResponse = framed.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        var buffer = allocator.buffer(capacity: 512)
        buffer.writeResponseHead(framed)
        heldBack = buffer
    }

    /// A large first part of a body (over ``coalescedBodyBytes``, so not copied behind its head) is flushed with
    /// the head at once: the client's first byte does not wait for the rest of the read loop (up to four more
    /// reads of the backend) or for a cache's fill. Smaller parts wait for the flush at the end
    /// of the read, so a small chunked response still leaves in one system call.
    func writeBody(_ body: ByteBuffer) {
        hasUnflushedWrites = true
        if !chunkedResponse, heldBack != nil, body.readableBytes <= heldBack!.writableBytes {
            heldBack!.writeImmutableBuffer(body)
            return
        }
        let first = heldBack != nil && body.readableBytes > Self.coalescedBodyBytes
        if chunkedResponse {
            ChunkedBody.writeChunk(.byteBuffer(body), allocator: allocator) { write($0) }
        } else {
            write(.byteBuffer(body))
        }
        if first { flush() }
    }

    /// Writes the head held back and flushes, unless nothing was written since the last flush: a flush through
    /// the pipeline with nothing to write is not free (a stored response flushed before the request's end was
    /// read, a large first body part flushed with its head, ends with one).
    func flush() {
        guard hasUnflushedWrites else { return }
        hasUnflushedWrites = false
        writeHeldBack()
        context?.flush()
    }

    func writeEnd(_ trailers: HTTPHeaders?, promise: EventLoopPromise<Void>?) {
        guard let context else {
            hasUnflushedWrites = false
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard chunkedResponse || promise != nil else {
            flush()
            return
        }
        hasUnflushedWrites = false
        if chunkedResponse {
            chunkedResponse = false
            var last = allocator.buffer(capacity: 5)
            last.writeLastChunk(trailers: trailers)
            writeHeldBack()
            context.writeAndFlush(NIOAny(last), promise: promise)
        } else {
            let last = takeHeldBack() ?? ByteBuffer()
            context.writeAndFlush(NIOAny(last), promise: promise)
        }
    }

    /// Writes bytes after the head held back, if any.
    private func write(_ bytes: IOData) {
        writeHeldBack()
        context?.write(NIOAny(bytes), promise: nil)
    }

    private func writeHeldBack() {
        if let heldBack = takeHeldBack() {
            context?.write(NIOAny(heldBack), promise: nil)
        }
    }

    /// The head held back, now to be written; its memory is kept for the next head.
    private func takeHeldBack() -> ByteBuffer? {
        guard let heldBack = heldBack.take() else { return nil }
        spareHeadBuffer.keep(heldBack)
        return heldBack
    }
}

/// Hands the responses of an HTTP/2 stream to the stream's codec as parts.
final class HTTP2ResponseWriter: ResponseWriter {
    private var context: ChannelHandlerContext?
    private(set) var hasUnflushedWrites = false

    func attach(_ context: ChannelHandlerContext) {
        self.context = context
    }

    func detach() {
        context = nil
    }

    private func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>? = nil) {
        hasUnflushedWrites = true
        context?.write(NIOAny(part), promise: promise)
    }

    func writeHead(_ head: HTTPResponseHead) {
        write(.head(head))
    }

    func writeForwardedHead(_ response: ResponseHead, request: RequestHead, keepAlive: Bool) {
        write(.head(ForwardedRequest.responseHead(for: response.httpResponseHead, request: request, keepAlive: keepAlive)))
    }

    func writeForwardedHead(_ response: HTTPResponseHead, request: RequestHead, keepAlive: Bool) {
        write(.head(ForwardedRequest.responseHead(for: response, request: request, keepAlive: keepAlive)))
    }

    func writeBody(_ body: ByteBuffer) {
        write(.body(.byteBuffer(body)))
    }

    func flush() {
        guard hasUnflushedWrites else { return }
        hasUnflushedWrites = false
        context?.flush()
    }

    func writeEnd(_ trailers: HTTPHeaders?, promise: EventLoopPromise<Void>?) {
        hasUnflushedWrites = false
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers)), promise: promise)
    }
}
