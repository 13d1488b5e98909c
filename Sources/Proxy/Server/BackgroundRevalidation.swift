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
/// stale response stays for the next request to try again. A backend that fails before a response
/// byte (its connection refused, reset or closed) is taken offline and not chosen again, and another
/// of the site is, up to `retry.attempts` more times, with the rules of ``ExchangeStateMachine``'s
/// retry of an idempotent request (``BackendAttempts``).
/// A timeout is not retried. The connection is closed after the response rather than pooled:
/// revalidations are rare, and the pool's reuse rules belong to the exchange.
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
    /// The backends this revalidation has tried.
    private var attempts = BackendAttempts()
    /// Whether the attempt's connection came from the pool, and whether its response has begun.
    private var reused = false
    private var responseBegun = false
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
        timer = ConnectionTimer(eventLoop: eventLoop) { [self] in
            fail("no response within the response timeout")
        }
        timer?.arm(in: routing.upstream.responseTimeout)
        attempt()
    }

    /// Sends the request to a backend chosen among those not tried.
    private func attempt() {
        var scratch = ChoiceScratch()
        var generator = SplitMix64()
        guard let backend = routing.choose(excluding: attempts.tried, site: site, scratch: &scratch, using: &generator) else {
            fail(attempts.tried.isEmpty ? "no backend online" : "no other backend online")
            return
        }
        attempts.begin()
        self.backend = backend
        started = eventLoop.now
        backend.requestStarted()
        if let idle = pool.takeIdle(backend) {
            reused = true
            connected(.success(idle))
        } else {
            reused = false
            pool.connect(backend, settings: routing.upstream) { [self] result in
                connected(result)
            }
        }
    }

    /// The attempt's backend failed before a response byte: another is tried while attempts are left, else the
    /// revalidation fails.
    private func attemptFailed(_ reason: String) {
        guard !isDone, !responseBegun, let backend else {
            fail(reason)
            return
        }
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
        backend.requestFinished(status: 502, latency: eventLoop.now - started, failed: true, rx: 0, tx: 0)
        self.backend = nil
        // A pooled connection closed while idle says nothing of the backend (see ``BackendAttempts``).
        attempts.failed(backend, closedWhileIdle: reused)
        if !reused { runtime.proxyFailed(backend) }
        guard attempts.allowsAnother(retries: routing.retryAttempts) else {
            fail("\(reason) (\(backend.endpoint.description), the last of \(attempts.count) attempts)")
            return
        }
        runtime.logger.debug("background revalidation tried again", metadata: ["backend": "\(backend.endpoint.description)", "reason": "\(reason)"])
        attempt()
    }

    private func connected(_ result: Result<UpstreamHandler, any Error>) {
        switch result {
        case .failure(let error):
            attemptFailed("backend connection failed: \(error)")
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
            responseBegun = true
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
        attemptFailed("backend closed the connection\(error.map { ": \($0)" } ?? "")")
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
