import NIOCore

/// The memory of the last head written on a connection, kept for the next one: a head is
/// written for every request, and allocating its buffer each time costs more than reusing one.
///
/// A buffer is reused only once the channel has written it and let go of it; one still
/// queued is never changed, because ByteBuffer copies on write. Only small buffers are kept, so
/// an idle connection holds little.
struct SpareBuffer {
    private var buffer: ByteBuffer?
    private static let largestKept = 8 * 1024

    /// An empty buffer with room for `capacity` bytes: the spare one if there is one.
    mutating func take(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var taken = buffer.take() ?? allocator.buffer(capacity: capacity)
        taken.clear(minimumCapacity: capacity)
        return taken
    }

    /// Keeps `written`, a buffer just handed to the channel, for the next head.
    mutating func keep(_ written: ByteBuffer) {
        if written.capacity <= Self.largestKept {
            buffer = written
        }
    }
}
