import NIOCore
import NIOHTTP1

/// One client request on its way through the proxy: which backend serves it, what has been
/// sent each way, and what to record when it ends. Confined to the client connection's loop.
///
/// One object serves the requests of a connection in turn (see ``begin(_:routing:now:)``),
/// so proxying a request allocates none and its handler reaches it without reference counting;
/// ``serial`` tells the requests apart.
final class Exchange {
    private(set) var request: RequestHead
    private(set) var routing: Routing
    private(set) var start = NIODeadline.uptimeNanoseconds(0)
    /// Wall-clock start for the trace; 0 when tracing is off.
    private(set) var wallClockStart: Int64 = 0
    /// Whether replaying the request on another backend is safe: `GET`, `HEAD`, `OPTIONS` and
    /// `DELETE` without a body (idempotent, RFC 9110 9.2.2, and nothing to replay).
    private(set) var isRetryable = false
    /// Counts the requests begun: a backend connection made for one request is not used for
    /// a later one.
    private(set) var serial = 0
    /// The backend of the current attempt; `nil` only before the first is chosen.
    var backend: Backend?
    /// Backends that failed this request, never chosen again for it.
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
    var clientKeepAlive = true
    var isUpgrade = false

    /// - Parameter routing: the table in force, kept until the first request brings its own.
    init(routing: Routing) {
        self.request = Self.noRequest
        self.routing = routing
    }

    /// Starts the next request of the connection; the backend is set per attempt.
    func begin(_ request: RequestHead, routing: Routing, now: NIODeadline) {
        serial &+= 1
        self.request = request
        if routing !== self.routing {
            self.routing = routing
        }
        start = now
        wallClockStart = routing.trace == nil ? 0 : TraceRecord.wallClockNow()
        switch request.method {
        case .GET, .HEAD, .OPTIONS, .DELETE: isRetryable = !request.hasBody
        default: isRetryable = false
        }
        if !tried.isEmpty { tried.removeAll() }
        attempts = 0
        upstream = nil
        reusedConnection = false
        if !pending.isEmpty { pending.removeAll() }
        requestEnded = false
        requestSent = false
        responseStarted = false
        responseEnded = false
        status = 0
        rxBytes = 0
        txBytes = 0
        firstByte = nil
        upstreamKeepAlive = true
        clientKeepAlive = request.isKeepAlive
        isUpgrade = false
    }

    /// Lets go of the request's bytes once it is answered: they are a slice of the memory the
    /// client's connection reads into, which can be reused only when nothing else holds it.
    func end() {
        request = Self.noRequest
    }

    private static let noRequest = RequestHead(
        method: .GET,
        version: .http1_1,
        bytes: ByteBuffer(),
        target: 0..<0,
        fieldsStart: 0,
        fields: HeadFields()
    )
}
