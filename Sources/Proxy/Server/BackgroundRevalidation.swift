import NIOCore
import NIOHTTP1

/// A request the proxy sends on its own, for the response cache: the background revalidation
/// of a stale response the client has just been served under `stale-while-revalidate` (RFC 5861
/// 3: "the cache will attempt to revalidate it while still serving stale responses").
///
/// The client's head goes to a backend of its site, chosen as for the client's own request,
/// with the cache's conditions added (``CacheLookup/hitRevalidatingInBackground(_:conditions:fill:)``):
/// a `304` goes to the fill's ``CacheFill/revalidated(_:)``, any other final response is teed
/// into the fill (and nowhere else; its body is read only as fast as the store takes it), and a
/// failure, a timeout (`upstream.response_timeout`) or no backend online aborts the fill, so the
/// stale response stays for the next request to try again. One attempt, no retry: a failed
/// revalidation costs nothing but itself. The connection is closed after the response rather
/// than pooled: revalidations are rare, and the pool's reuse rules belong to the exchange.
///
/// Lives on the client connection's event loop; the backend connection holds it while the
/// request is in flight, and it lets go of everything once done.
final class BackgroundRevalidation: UpstreamDelegate {
    private let runtime: ProxyRuntime
    private let pool: UpstreamPool
    private let routing: Routing
    private let site: Int
    private let request: RequestHead
    private let forwarding: ForwardedRequest
    private let conditions: HTTPHeaders
    private let eventLoop: any EventLoop
    private var fill: (any CacheFill)?
    private var teeing = false
    private var upstream: UpstreamHandler?
    private var backend: Backend?
    private var timer: ConnectionTimer?
    private var status = 502
    private var started = NIODeadline.uptimeNanoseconds(0)
    private var received = 0
    private var isDone = false
    /// Whether the fill can take more now; the backend is not read while it cannot.
    private(set) var downstreamIsWritable = true

    init(
        runtime: ProxyRuntime,
        pool: UpstreamPool,
        routing: Routing,
        site: Int,
        request: RequestHead,
        forwarding: ForwardedRequest,
        conditions: HTTPHeaders,
        fill: any CacheFill,
        eventLoop: any EventLoop
    ) {
        self.runtime = runtime
        self.pool = pool
        self.routing = routing
        self.site = site
        self.request = request
        self.forwarding = forwarding
        self.conditions = conditions
        self.fill = fill
        self.eventLoop = eventLoop
    }

    /// Chooses a backend and sends the request; everything after happens on the event loop.
    func start() {
        var scratch = ChoiceScratch()
        var generator = SplitMix64()
        guard let backend = routing.choose(excluding: [], site: site, scratch: &scratch, using: &generator) else {
            fail("no backend online")
            return
        }
        self.backend = backend
        started = eventLoop.now
        backend.requestStarted()
        timer = ConnectionTimer(eventLoop: eventLoop) { [self] in
            fail("no response within the response timeout")
        }
        timer?.arm(in: routing.upstream.responseTimeout)
        if let idle = pool.takeIdle(backend) {
            connected(.success(idle))
        } else {
            pool.connect(backend, settings: routing.upstream) { [self] result in
                connected(result)
            }
        }
    }

    private func connected(_ result: Result<UpstreamHandler, any Error>) {
        switch result {
        case .failure(let error):
            fail("backend connection failed: \(error)")
        case .success(let handler):
            guard !isDone else {
                handler.close()
                return
            }
            upstream = handler
            handler.requestCount += 1
            handler.delegate = self
            handler.writeHead(request, forwarding: forwarding, adding: conditions)
            handler.write(.end(nil))
            handler.flush()
        }
    }

    func upstreamReceived(_ part: ResponseParser.Part) {
        guard !isDone else { return }
        switch part {
        case .head(let head):
            guard !head.isInterim else { return }
            status = head.statusCode
            var response = head.httpResponseHead
            response.headers.removeHopByHopFields()
            if head.statusCode == 304 {
                fill?.revalidated(response)
                fill = nil
            } else if let fill {
                teeing = fill.head(response).stores
                if !teeing {
                    // Not stored (its head said so): the rest of it is of no use.
                    self.fill = nil
                    finish(failed: false)
                }
            }
        case .body(let buffer):
            received += buffer.readableBytes
            if teeing, let wait = fill?.body(buffer) {
                downstreamIsWritable = false
                wait.assumeIsolated().whenComplete { [self] _ in
                    downstreamIsWritable = true
                    upstream?.resumeReading()
                }
            }
        case .end(let trailers):
            if teeing { fill?.end(trailers) }
            fill = nil
            finish(failed: false)
        }
    }

    func upstreamReadComplete() {}

    func upstreamWritabilityChanged(isWritable: Bool) {}

    func upstreamClosed(error: (any Error)?) {
        upstream = nil
        fail("backend closed the connection\(error.map { ": \($0)" } ?? "")")
    }

    private func fail(_ reason: String) {
        guard !isDone else { return }
        runtime.logger.debug(
            "background revalidation failed",
            metadata: ["backend": "\(backend?.endpoint.description ?? "")", "reason": "\(reason)"]
        )
        fill?.abort()
        fill = nil
        finish(failed: true)
    }

    /// Records the attempt and lets go of the connection, after the read being parsed (a part
    /// parsed after the connection left its handler would count as a backend's protocol error).
    private func finish(failed: Bool) {
        guard !isDone else { return }
        isDone = true
        timer?.cancel()
        timer = nil
        if let backend {
            backend.requestFinished(status: status, latency: eventLoop.now - started, failed: failed, rx: received, tx: 0)
        }
        guard let upstream else { return }
        eventLoop.assumeIsolated().execute { [self] in
            self.upstream = nil
            upstream.close()
        }
    }
}
