import NIOHTTP1
import NIOCore

/// An admin response: a status, fields and a body, or a body written in parts over time (`stream`).
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// Parts written after `body`, as the handler produces them; the response is then sent without
    /// `Content-Length` (chunked for HTTP/1.1, ended by closing the connection for HTTP/1.0). A response to `HEAD`
    /// sends the head only and never runs the stream.
    public var stream: AdminBodyStream?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer(), stream: AdminBodyStream? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    public static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(
            status: status,
            headers: ["Content-Type": "application/json"],
            body: ByteBuffer(string: value.rendered() + "\n")
        )
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: ByteBuffer(string: text))
    }

    /// A body written in parts: an event stream, a watch that reports each change as it happens.
    public static func streaming(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], _ stream: AdminBodyStream) -> AdminResponse {
        AdminResponse(status: status, headers: headers, stream: stream)
    }
}
