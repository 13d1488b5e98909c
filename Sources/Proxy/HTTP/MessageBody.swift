import NIOCore
import NIOHTTP1

/// Reads the body of one HTTP/1 message after its head (RFC 9112 6.3, 7.1): a known number of
/// bytes, or chunks and their trailer section. Body bytes are passed on as slices of the bytes
/// read, never copied or gathered.
struct MessageBody {
    enum Part {
        case bytes(ByteBuffer)
        /// The body ended, with the trailer fields of a chunked body if it had any.
        case end(HTTPHeaders?)
    }

    private enum State {
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    private var state: State
    /// Largest trailer section accepted.
    private let maxTrailerBytes: Int

    /// A body of `length` bytes.
    static func fixed(_ length: Int) -> MessageBody {
        MessageBody(state: .fixed(remaining: length), maxTrailerBytes: 0)
    }

    /// A chunked body, whose trailer section may take up to `maxTrailerBytes`.
    static func chunked(maxTrailerBytes: Int) -> MessageBody {
        MessageBody(state: .chunkSize, maxTrailerBytes: maxTrailerBytes)
    }

    /// The next part `buffer` holds, consuming its bytes; `nil` when more bytes are needed.
    mutating func next(from buffer: inout ByteBuffer) throws -> Part? {
        while true {
            switch state {
            case .fixed(0):
                return .end(nil)
            case .fixed(let remaining):
                guard let (bytes, left) = Self.readBytes(remaining, from: &buffer) else { return nil }
                state = .fixed(remaining: left)
                return .bytes(bytes)
            case .chunkSize:
                guard let line = try buffer.withUnsafeReadableBytes(HTTP1Syntax.chunkSizeLine) else { return nil }
                buffer.moveReaderIndex(forwardBy: line.length)
                state = line.size == 0 ? .trailers : .chunkData(remaining: line.size)
            case .chunkData(let remaining):
                guard let (bytes, left) = Self.readBytes(remaining, from: &buffer) else { return nil }
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                return .bytes(bytes)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == UInt16(0x0D0A) else {
                    throw HTTP1ParseError(description: "chunk data does not end with CRLF")
                }
                state = .chunkSize
            case .trailers:
                let limit = maxTrailerBytes
                guard let section = try buffer.withUnsafeReadableBytes({ try HTTP1Syntax.trailerSection($0, limit: limit) }) else {
                    return nil
                }
                buffer.moveReaderIndex(forwardBy: section.length)
                state = .fixed(remaining: 0)
                return .end(section.trailers)
            }
        }
    }

    /// Up to `remaining` bytes from `buffer`, as a slice, and how many are still to come;
    /// `nil` when `buffer` is empty.
    private static func readBytes(_ remaining: Int, from buffer: inout ByteBuffer) -> (bytes: ByteBuffer, left: Int)? {
        guard buffer.readableBytes > 0 else { return nil }
        let length = min(remaining, buffer.readableBytes)
        return (buffer.readSlice(length: length)!, remaining - length)
    }
}
