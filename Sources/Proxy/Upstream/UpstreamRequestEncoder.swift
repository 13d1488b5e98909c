import NIOCore
import NIOHTTP1

/// The bytes of the requests sent on one backend connection: each head as
/// ``ForwardedRequest`` writes it, the body chunked when that says so (RFC 9112 7.1).
struct UpstreamRequestEncoder {
    /// Whether the body of the request being sent is chunked.
    private(set) var chunked = false
    /// The memory of the last head, for the next one.
    private var spare = SpareBuffer()

    mutating func head(_ head: RequestHead, forwarding: ForwardedRequest, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = spare.take(capacity: forwarding.maximumLength(of: head), allocator: allocator)
        chunked = forwarding.write(head, into: &buffer)
        spare.keep(buffer)
        return buffer
    }

    /// The same with `extra` fields added (see ``ForwardedRequest/write(_:adding:into:)``).
    mutating func head(_ head: RequestHead, forwarding: ForwardedRequest, adding extra: HTTPHeaders, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = spare.take(capacity: forwarding.maximumLength(of: head, adding: extra), allocator: allocator)
        chunked = forwarding.write(head, adding: extra, into: &buffer)
        spare.keep(buffer)
        return buffer
    }

    /// Hands `write` what goes on the wire for a body part: the part itself, or, chunked,
    /// the part as one chunk (see ``ChunkedBody``).
    func body(_ body: IOData, allocator: ByteBufferAllocator, to write: (IOData) -> Void) {
        if chunked {
            ChunkedBody.writeChunk(body, allocator: allocator, to: write)
        } else {
            write(body)
        }
    }

    /// The end of a chunked body with its trailers; nothing for other bodies.
    mutating func end(_ trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard chunked else { return nil }
        chunked = false
        var last = allocator.buffer(capacity: 5)
        last.writeLastChunk(trailers: trailers)
        return last
    }
}
