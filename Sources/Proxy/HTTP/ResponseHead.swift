import NIOCore
import NIOHTTP1

/// A backend's response head as it came off the wire: what the proxy needs to know of it, and
/// its field lines as the backend wrote them, so the ones that are forwarded are copied as
/// they are instead of being turned into strings and back (see ``ResponseParser``).
///
/// Immutable, and a class for the reason ``RequestHead`` is one.
final class ResponseHead: Sendable {
    let version: HTTPVersion
    let statusCode: Int
    /// The status line as the backend wrote it, without its CRLF.
    let statusLine: ByteBuffer
    /// The field lines, each with its CRLF, validated by the parser.
    let fieldLines: ByteBuffer
    /// What the field lines say, and which of them are not forwarded.
    let fields: HeadFields

    init(version: HTTPVersion, statusCode: Int, statusLine: ByteBuffer, fieldLines: ByteBuffer, fields: HeadFields) {
        self.version = version
        self.statusCode = statusCode
        self.statusLine = statusLine
        self.fieldLines = fieldLines
        self.fields = fields
    }

    /// Whether the backend keeps the connection open after this response (RFC 9112 9.3).
    var isKeepAlive: Bool {
        fields.isKeepAlive(major: version.major, minor: version.minor)
    }

    /// The reason phrase as the backend wrote it.
    var reasonPhrase: ByteBuffer {
        // `HTTP/x.y SP code SP` takes 13 bytes (RFC 9112 4).
        statusLine.readableBytes > 13 ? statusLine.getSlice(at: statusLine.readerIndex + 13, length: statusLine.readableBytes - 13)! : ByteBuffer()
    }

    /// A 1xx response other than `101 Switching Protocols`: the final response follows.
    var isInterim: Bool {
        statusCode < 200 && statusCode != 101
    }

    /// The head as NIO's value, for HTTP/2 streams and interim responses.
    var httpResponseHead: HTTPResponseHead {
        var headers = HTTPHeaders()
        fieldLines.withUnsafeReadableBytes { lines in
            HeadFields.forEachLine(of: lines) { _, start, end in
                let (name, value) = ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: lines[start..<end - 2]))
                headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            }
        }
        let status = HTTPResponseStatus(statusCode: statusCode, reasonPhrase: String(buffer: reasonPhrase))
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }
}
