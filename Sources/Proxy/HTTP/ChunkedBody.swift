import NIOCore

/// Chunked transfer coding on the way out (RFC 9112 7.1), for request bodies to backends and
/// response bodies to HTTP/1.1 clients alike.
enum ChunkedBody {
    /// Hands `write` what carries `body` as one chunk: its size line, the bytes and a line end.
    /// An empty body gives nothing, since a chunk of size zero would end the message.
    static func writeChunk(_ body: IOData, allocator: ByteBufferAllocator, to write: (IOData) -> Void) {
        guard body.readableBytes > 0 else { return }
        var size = allocator.buffer(capacity: 18)
        size.writeChunkSize(body.readableBytes)
        write(.byteBuffer(size))
        write(body)
        write(.byteBuffer(lineEnd))
    }

    private static let lineEnd = ByteBuffer(string: "\r\n")
}
