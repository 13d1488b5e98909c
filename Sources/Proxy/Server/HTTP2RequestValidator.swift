import NIOCore
import NIOHPACK
import NIOHTTP2

/// Resets an HTTP/2 stream whose request is malformed in ways NIO's codec lets through, before
/// it is turned into an HTTP/1 head (RFC 9113 8.1.1: a malformed request is a stream error of
/// type `PROTOCOL_ERROR`):
///
/// - a `host` field that differs from `:authority` (8.3.1: they must name the same authority;
///   the codec keeps `host` and drops `:authority`, so a backend would see only one of them);
/// - a field value with leading or trailing spaces or tabs (8.2.1);
/// - a `:path` that does not start with `/`, other than `*` for `OPTIONS` (8.3.1).
///
/// Only the first header block of a stream is a request head; later ones are trailers.
final class HTTP2RequestValidator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var sawHead = false
    private var isReset = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isReset else { return }
        if !sawHead, case .headers(let headers) = unwrapInboundIn(data) {
            sawHead = true
            if let problem = Self.problem(in: headers.headers) {
                isReset = true
                context.writeAndFlush(wrapOutboundOut(.rstStream(.protocolError)), promise: nil)
                context.fireErrorCaught(HTTP2MalformedRequest(description: problem))
                return
            }
        }
        context.fireChannelRead(data)
    }

    /// What makes a request head malformed, if anything.
    static func problem(in headers: HPACKHeaders) -> String? {
        for (_, value, _) in headers {
            if let first = value.utf8.first, let last = value.utf8.last,
                first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\t")
            {
                return "a field value with leading or trailing whitespace"
            }
        }
        let method = headers.first(name: ":method")
        if let path = headers.first(name: ":path"), !path.hasPrefix("/"), !(path == "*" && method == "OPTIONS") {
            return ":path neither starts with / nor is * for OPTIONS"
        }
        if let authority = headers.first(name: ":authority") {
            for host in headers.values(forHeader: "host") where host.lowercased() != authority.lowercased() {
                return "host differs from :authority"
            }
        }
        return nil
    }
}

/// A malformed HTTP/2 request, whose stream was reset.
struct HTTP2MalformedRequest: Error, CustomStringConvertible {
    var description: String
}
