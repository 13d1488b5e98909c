import NIOCore
import NIOHTTP1

/// The bytes of the requests sent on one backend connection: each head as
/// ``ForwardedRequest`` writes it, the body chunked when that says so (RFC 9112 7.1).
struct UpstreamRequestEncoder {
    /// Whether the body of the request being sent is chunked.
    private(set) var chunked = false
    /// The memory of the last head, reused for the next once the channel has written it and let
    /// go of it; a head still queued is never changed (the buffer is copied instead). Kept only
    /// while it is small, so idle connections hold little.
    private var spare: ByteBuffer?
    private static let spareLimit = 8 * 1024

    mutating func head(_ head: RequestHead, forwarding: ForwardedRequest, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = forwarding.maximumLength(of: head)
        var buffer = spare.take() ?? allocator.buffer(capacity: length)
        buffer.clear(minimumCapacity: length)
        chunked = forwarding.write(head, into: &buffer)
        if buffer.capacity <= Self.spareLimit {
            spare = buffer
        }
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
