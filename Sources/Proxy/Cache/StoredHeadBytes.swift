import NIOCore
import NIOHTTP1

/// A stored response's head for an HTTP/1 client, kept as bytes by the cache for a plain hit
/// on a copy in memory (``StoredResponse/headBytes``): the lines that are the same on every
/// hit, encoded once (``ServedHeadLines``), and the fields made for this one.
///
/// What it writes is what the fields path writes for the same hit, byte for byte: the status
/// line, the stored fields sent, `Age`, `Cache-Status`, `Content-Length`, then the proxy's
/// `Connection` when it must send one, and the empty line.
public struct StoredHeadBytes: Sendable {
    let lines: ServedHeadLines
    /// RFC 9111 4.2.3's current age, in seconds.
    let age: Int
    let cacheStatus: CacheStatus
    /// The body's length, sent as `Content-Length`.
    public let contentLength: Int

    public var status: HTTPResponseStatus { lines.status }

    /// The most bytes ``write(version:connection:into:)`` writes.
    var maximumLength: Int {
        lines.statusLineTail.readableBytes + lines.fieldLines.readableBytes + 256 + (cacheStatus.detail?.utf8.count ?? 0) * 2
    }

    /// Writes the head in `version` with `Connection: connection` (the client connection's framing) when given.
    func write(version: HTTPVersion, connection: StaticString?, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: maximumLength)
        buffer.writeHTTPVersion(version)
        buffer.writeImmutableBuffer(lines.statusLineTail)
        buffer.writeImmutableBuffer(lines.fieldLines)
        buffer.writeStaticString("age: ")
        buffer.writeString(String(min(max(0, age), CacheControl.maximumDelta)))
        buffer.writeStaticString("\r\ncache-status: ")
        cacheStatus.write(into: &buffer)
        buffer.writeStaticString("\r\ncontent-length: ")
        buffer.writeString(String(contentLength))
        buffer.writeStaticString("\r\n")
        if let connection {
            buffer.writeStaticString("connection: ")
            buffer.writeStaticString(connection)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }
}
