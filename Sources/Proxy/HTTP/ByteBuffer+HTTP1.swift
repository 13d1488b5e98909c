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
        for (name, value) in head.headers {
            writeField(name: name, value: value)
        }
        writeStaticString("\r\n")
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
