import NIOCore
import NIOHTTP1

/// One client request on its way through the proxy: which backend serves it, what has been
/// sent each way, and what to record when it ends. Confined to the client connection's loop.
final class Exchange {
    let request: RequestHead
    let routing: Routing
    let start: NIODeadline
    /// Wall-clock start for the trace; 0 when tracing is off.
    let wallClockStart: Int64
    /// Whether replaying the request on another backend is safe: `GET`, `HEAD`, `OPTIONS` and
    /// `DELETE` without a body (idempotent, RFC 9110 9.2.2, and nothing to replay).
    let isRetryable: Bool
    var backend: Backend
    /// Backends that failed this request, never chosen again for it (filled only on failure,
    /// so a request that succeeds first time allocates no list).
    var tried: [Backend] = []
    /// Backend attempts made so far, the first included.
    var attempts = 0
    var upstream: UpstreamHandler?
    /// Whether the current connection carried earlier requests (a stale keep-alive connection
    /// failing says nothing about the backend's health).
    var reusedConnection = false
    /// Request body parts received before the upstream connection was ready.
    var pending: [RequestBodyPart] = []
    var requestEnded = false
    var requestSent = false
    var responseStarted = false
    var responseEnded = false
    var status = 0
    var rxBytes = 0
    var txBytes = 0
    var firstByte: NIODeadline?
    var upstreamKeepAlive = true
    var clientKeepAlive: Bool
    var isUpgrade = false

    init(request: RequestHead, routing: Routing, backend: Backend, now: NIODeadline) {
        self.request = request
        self.routing = routing
        self.backend = backend
        self.start = now
        self.wallClockStart = routing.trace == nil ? 0 : TraceRecord.wallClockNow()
        self.clientKeepAlive = request.isKeepAlive
        switch request.method {
        case .GET, .HEAD, .OPTIONS, .DELETE: self.isRetryable = !request.hasBody
        default: self.isRetryable = false
        }
    }
}
