import NIOCore
import NIOHTTP1

/// A backend's response head as it came off the wire: what the proxy needs to know of it, and
/// its field lines as the backend wrote them, so the ones that are forwarded are copied as
/// they are instead of being turned into strings and back (see ``ResponseParser``).
struct ResponseHead {
    var version: HTTPVersion
    var statusCode: Int
    /// The status line as the backend wrote it, without its CRLF.
    var statusLine: ByteBuffer
    /// The field lines, each with its CRLF, validated by the parser.
    var fieldLines: ByteBuffer
    var contentLength: Int?
    var hasTransferEncoding = false
    /// `chunked` is the final transfer coding.
    var isChunked = false
    /// `Connection` lists `close`, `keep-alive`.
    var connectionClose = false
    var connectionKeepAlive = false
    /// Other names `Connection` lists, lower-cased: fields not to be forwarded (RFC 9110 7.6.1).
    var connectionOptions: [String] = []
    /// `TE` lists `trailers`.
    var acceptsTrailers = false
    /// The `Upgrade` field, if any.
    var upgrade: String?

    /// Whether the backend keeps the connection open after this response (RFC 9112 9.3).
    var isKeepAlive: Bool {
        if connectionClose { return false }
        return version.supportsChunking || connectionKeepAlive
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

    /// Calls `body` with each field's name and its whole line, CRLF included.
    func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ line: UnsafeRawBufferPointer) -> Void) {
        fieldLines.withUnsafeReadableBytes { bytes in
            var start = 0
            while let end = ASCII.lineEnd(in: bytes, from: start), end >= start {
                var colon = start
                while bytes[colon] != UInt8(ascii: ":") { colon += 1 }
                body(UnsafeRawBufferPointer(rebasing: bytes[start..<colon]), UnsafeRawBufferPointer(rebasing: bytes[start..<end + 2]))
                start = end + 2
            }
        }
    }

    /// Calls `body` with each run of consecutive field lines that are forwarded (not
    /// hop-by-hop), CRLFs included, so they are copied in as few writes as there are runs.
    ///
    /// - Returns: whether a forwarded field is `Content-Length`.
    func forEachForwardedRun(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var hasContentLength = false
        fieldLines.withUnsafeReadableBytes { bytes in
            var runStart: Int?
            var start = 0
            while let end = ASCII.lineEnd(in: bytes, from: start), end >= start {
                var colon = start
                while bytes[colon] != UInt8(ascii: ":") { colon += 1 }
                let name = UnsafeRawBufferPointer(rebasing: bytes[start..<colon])
                if isHopByHop(name) {
                    if let runStart {
                        body(UnsafeRawBufferPointer(rebasing: bytes[runStart..<start]))
                    }
                    runStart = nil
                } else {
                    runStart = runStart ?? start
                    hasContentLength = hasContentLength || ASCII.equalsIgnoringCase(name, "content-length")
                }
                start = end + 2
            }
            if let runStart {
                body(UnsafeRawBufferPointer(rebasing: bytes[runStart..<start]))
            }
        }
        return hasContentLength
    }

    /// Whether the field called `name` describes the connection and stays behind.
    func isHopByHop(_ name: UnsafeRawBufferPointer) -> Bool {
        if HopByHopFields.index(ofBytes: name) != nil { return true }
        guard !connectionOptions.isEmpty else { return false }
        return connectionOptions.contains { option in
            option.utf8.count == name.count && zip(option.utf8, name).allSatisfy { $0 == ASCII.lowercased($1) }
        }
    }

    /// The head as NIO's value, for HTTP/2 streams and interim responses.
    var httpResponseHead: HTTPResponseHead {
        var headers = HTTPHeaders()
        forEachField { _, line in
            let (name, value) = ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: line.dropLast(2)))
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
        let status = HTTPResponseStatus(statusCode: statusCode, reasonPhrase: String(buffer: reasonPhrase))
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }
}
