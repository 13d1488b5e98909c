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
    /// The status line and the field lines as the backend wrote them, each with its CRLF,
    /// without the empty line; the field lines validated by the parser.
    let bytes: ByteBuffer
    /// Where the field lines start in ``bytes``.
    let fieldsStart: Int
    /// What the field lines say, and which of them are not forwarded.
    let fields: HeadFields

    init(version: HTTPVersion, statusCode: Int, bytes: ByteBuffer, fieldsStart: Int, fields: HeadFields) {
        self.version = version
        self.statusCode = statusCode
        self.bytes = bytes
        self.fieldsStart = fieldsStart
        self.fields = fields
    }

    /// Whether the backend keeps the connection open after this response (RFC 9112 9.3).
    var isKeepAlive: Bool {
        fields.isKeepAlive(major: version.major, minor: version.minor)
    }

    /// The length of the status line, without its CRLF.
    var statusLineLength: Int {
        fieldsStart - 2
    }

    /// The reason phrase as the backend wrote it.
    var reasonPhrase: ByteBuffer {
        // `HTTP/x.y SP code SP` takes 13 bytes (RFC 9112 4).
        statusLineLength > 13 ? bytes.getSlice(at: bytes.readerIndex + 13, length: statusLineLength - 13)! : ByteBuffer()
    }

    /// Calls `body` with the status line, without its CRLF, and the field lines.
    func withBytes<Result>(
        _ body: (_ statusLine: UnsafeRawBufferPointer, _ fieldLines: UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try bytes.withUnsafeReadableBytes { head in
            try body(UnsafeRawBufferPointer(rebasing: head[..<statusLineLength]), UnsafeRawBufferPointer(rebasing: head[fieldsStart...]))
        }
    }

    /// A 1xx response other than `101 Switching Protocols`: the final response follows.
    var isInterim: Bool {
        statusCode < 200 && statusCode != 101
    }

    /// The head as NIO's value, for HTTP/2 streams and interim responses.
    var httpResponseHead: HTTPResponseHead {
        var headers = HTTPHeaders()
        withBytes { _, lines in
            HeadFields.forEachLine(of: lines) { _, start, end in
                let (name, value) = ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: lines[start..<end - 2]))
                headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            }
        }
        let status = HTTPResponseStatus(statusCode: statusCode, reasonPhrase: String(buffer: reasonPhrase))
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }
}
