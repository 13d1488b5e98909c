import AsyncHTTPClient
import NIOCore

/// A GET's answer: the object's head and its body (the whole object, or the requested range), streamed from the
/// connection as the reader consumes it (async-http-client reads the next part only once this one is taken).
public struct S3Object: Sendable {
    public var head: S3ObjectHead
    /// 200 for the whole object, 206 for a range.
    public var status: Int
    /// `Content-Range` of a 206 (`bytes first-last/complete`).
    public var contentRange: String?
    /// The length of `body`.
    public var partLength: Int64
    public var body: HTTPClientResponse.Body

    /// The whole body in memory, for small objects and tests; fails beyond `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        try await body.collect(upTo: limit)
    }
}

extension S3Object {
    /// Reads `body` one part at a time, for readers that keep their place between calls.
    public struct BodyIterator {
        var base: HTTPClientResponse.Body.AsyncIterator

        public mutating func next() async throws -> ByteBuffer? { try await base.next() }
    }

    public func makeBodyIterator() -> BodyIterator { BodyIterator(base: body.makeAsyncIterator()) }
}
