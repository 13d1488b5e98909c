import NIOCore
import NIOHTTP1

/// HTTP/1.1 messages written straight into a `ByteBuffer` (RFC 9112), in the same bytes NIO's
/// encoders write. The proxy encodes its HTTP/1 messages itself so a forwarded head is written
/// once, hop-by-hop fields skipped on the way, instead of being copied, edited and encoded.
extension ByteBuffer {
    /// `HTTP/1.1` and the like.
    mutating func writeHTTPVersion(_ version: HTTPVersion) {
        if version == .http1_1 {
            writeStaticString("HTTP/1.1")
        } else {
            writeStaticString("HTTP/")
            writeDecimal(version.major)
            writeStaticString(".")
            writeDecimal(version.minor)
        }
    }

    /// A status code's three digits.
    mutating func writeStatusCode(_ code: Int) {
        writeDecimal(code)
    }

    /// `version code reason CRLF` (RFC 9112 4).
    mutating func writeStatusLine(version: HTTPVersion, status: HTTPResponseStatus) {
        writeHTTPVersion(version)
        writeStaticString(" ")
        writeDecimal(Int(status.code))
        writeStaticString(" ")
        writeString(status.reasonPhrase)
        writeStaticString("\r\n")
    }

    /// `name: value CRLF` (RFC 9112 5).
    mutating func writeField(name: String, value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }

    /// A whole response head, fields as given, and the empty line that ends it.
    mutating func writeResponseHead(_ head: HTTPResponseHead) {
        writeStatusLine(version: head.version, status: head.status)
        // The fields' length first, then one copy of each into the room made for all of them:
        // a write per piece costs more than the bytes it copies.
        var length = 2
        for (name, value) in head.headers {
            length += name.utf8.count + value.utf8.count + 4
        }
        writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            var index = 0
            for (name, value) in head.headers {
                index = Self.copy(name, into: out, at: index)
                out[index] = UInt8(ascii: ":")
                out[index + 1] = UInt8(ascii: " ")
                index = Self.copy(value, into: out, at: index + 2)
                out[index] = UInt8(ascii: "\r")
                out[index + 1] = UInt8(ascii: "\n")
                index += 2
            }
            out[index] = UInt8(ascii: "\r")
            out[index + 1] = UInt8(ascii: "\n")
            return index + 2
        }
    }

    /// Copies `text`'s UTF-8 into `out` at `index`, which has room for it; the index after it.
    private static func copy(_ text: String, into out: UnsafeMutableRawBufferPointer, at index: Int) -> Int {
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes in
            UnsafeMutableRawBufferPointer(rebasing: out[index..<index + bytes.count]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            return index + bytes.count
        }
        if let copied { return copied }
        var index = index
        for byte in text.utf8 {
            out[index] = byte
            index += 1
        }
        return index
    }

    /// The size line that starts a chunk (RFC 9112 7.1): the size in hexadecimal and CRLF.
    mutating func writeChunkSize(_ size: Int) {
        precondition(size >= 0, "a chunk size is never negative")
        var digits = 1
        while size >> (4 * digits) != 0 { digits += 1 }
        for position in stride(from: digits - 1, through: 0, by: -1) {
            writeInteger(Self.hexDigits[(size >> (4 * position)) & 0xF])
        }
        writeStaticString("\r\n")
    }

    /// The last chunk, the trailer fields and the empty line that end a chunked body (RFC 9112 7.1).
    mutating func writeLastChunk(trailers: HTTPHeaders?) {
        writeStaticString("0\r\n")
        if let trailers {
            for (name, value) in trailers {
                writeField(name: name, value: value)
            }
        }
        writeStaticString("\r\n")
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0, "versions and status codes are never negative")
        var divisor = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            writeInteger(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }
}
