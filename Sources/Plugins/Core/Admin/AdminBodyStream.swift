import NIOCore

/// A response body written in parts over time, as hummingbird's `ResponseBody` writes one: the admin listener
/// hands the stream a writer once the head is sent, and each `write` returns when the part has been written to
/// the connection, so a slow client slows the producer instead of filling memory.
///
/// The stream runs in the request's task: when the client disconnects the task is cancelled and the next `write`
/// throws. An error thrown after the head was sent cannot become an error status; the connection is closed
/// instead, so the client sees a truncated body rather than a complete-looking one.
public struct AdminBodyStream: Sendable {
    let produce: @Sendable (AdminBodyWriter) async throws -> Void

    public init(_ produce: @escaping @Sendable (AdminBodyWriter) async throws -> Void) {
        self.produce = produce
    }

    /// Each buffer of `parts`, in order, until it ends.
    public init<Parts: AsyncSequence & Sendable>(_ parts: Parts) where Parts.Element == ByteBuffer {
        self.init { writer in
            for try await part in parts { try await writer.write(part) }
        }
    }
}

/// Writes a streamed body's parts to the client's connection.
public struct AdminBodyWriter: Sendable {
    let send: @Sendable (ByteBuffer) async throws -> Void

    /// Returns once `part` is written; throws when the client has gone or the request's task is cancelled.
    public func write(_ part: ByteBuffer) async throws {
        try Task.checkCancellation()
        // An empty chunk would read as the end of a chunked body (RFC 9112 section 7.1).
        guard part.readableBytes > 0 else { return }
        try await send(part)
    }

    public func write(_ text: String) async throws {
        try await write(ByteBuffer(string: text))
    }
}
