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

    /// The most bytes ``write(version:connection:into:)`` writes: the lines kept, the status
    /// line's version, three fields with their numbers, `Connection` and the empty line.
    var maximumLength: Int {
        lines.statusLineAndFields.readableBytes + cacheStatus.maximumLength + 160
    }

    /// Writes the head in `version` with `Connection: connection` (the client connection's
    /// framing) when given: one reservation, then plain copies.
    func write(version: HTTPVersion, connection: StaticString?, into buffer: inout ByteBuffer) {
        buffer.writeHead(maximumLength: maximumLength) { writer in
            if version == .http1_1 {
                writer.write("HTTP/1.1")
            } else {
                writer.write("HTTP/")
                writer.write(decimal: Int(version.major))
                writer.write(".")
                writer.write(decimal: Int(version.minor))
            }
            writer.write(lines.statusLineAndFields)
            writer.write("age: ")
            writer.write(decimal: min(max(0, age), CacheControl.maximumDelta))
            writer.write("\r\ncache-status: ")
            cacheStatus.write(into: &writer)
            writer.write("\r\ncontent-length: ")
            writer.write(decimal: contentLength)
            writer.write("\r\n")
            if let connection {
                writer.write("connection: ")
                writer.write(connection)
                writer.write("\r\n")
            }
            writer.write("\r\n")
        }
    }
}
