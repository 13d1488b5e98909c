import NIOCore
import NIOHTTP1

/// The requests of one client connection (or one HTTP/2 stream) on their way through the
/// proxy, as a pure value: events in, actions out; no I/O and no clock reads (the caller passes
/// `now`). ``ProxyHandler`` feeds it what the client, the backend connection and the timers do,
/// and performs what it answers.
///
/// One request at a time is proxied; requests a client pipelines behind it wait in order
/// (RFC 9112 9.3.2), with an error where one could not be parsed, and are taken up by
/// ``nextQueued()`` once the connection is idle again. Each request is routed to a backend
/// chosen from the routing table it starts with; an attempt that fails before a response byte
/// is retried on another backend when that is safe (``isRetryable``).
///
/// The per-request facts are stored properties rather than payloads of ``Phase``, and the
/// actions of the events every request goes through carry no references (what they act on
/// is the part the caller passed in, or is read from the machine): the machine is consulted
/// several times for every request, and a payload holding references would be copied,
/// retained and released each time. A connection attempt made for one request is told from a
/// later one by ``serial``.
struct ExchangeStateMachine {
    enum Phase {
        /// Waiting for a request head.
        case idle
        /// Answering by itself once the request has been read.
        case local(LocalAnswer)
        /// Waiting for the response cache's answer (see ``ResponseCache``).
        case lookingUp
        /// Serving a stored response from the cache.
        case servingStored
        /// Waiting for a connection to ``backend``.
        case connecting
        /// The request and its response are on their way through a backend connection.
        case proxying
        /// The connection is being closed; anything more the client sends is ignored.
        case closing
        /// Bytes are tunnelled; the handler is leaving the pipeline.
        case tunnel
    }

    /// A response the proxy writes itself.
    struct LocalAnswer {
        var status: HTTPResponseStatus
        var body: String
        var headers: HTTPHeaders
        /// The proxy's own endpoint, which `trace.filter: application` leaves out.
        var isInternal: Bool
    }

    /// What to do with a part of the client's request.
    enum RequestAction {
        case none
        /// A new exchange: connect to ``backend`` (see ``connected(serial:backend:reused:)``).
        case connect
        /// Send the part to the backend connection; after the request's end, arm the response
        /// timer when `armsResponseTimer`.
        case forward(armsResponseTimer: Bool)
        /// Write the proxy's own answer, ``answer``; the connection stays open when `keepAlive`.
        case answer(keepAlive: Bool)
        /// Answer ``refusal``, a request that cannot be parsed or routed, and close.
        case refuse
        /// Ask the routing table's cache (see ``cacheAnswered(serial:_:)``).
        case lookup
        /// Serve the stored response the cache found (see ``storedResponseStarted(status:)``).
        case serveStored
        /// The stored response, served whole before the request's end arrived, is done now;
        /// the connection stays open when `keepAlive`.
        case storedResponseDone(keepAlive: Bool)
    }

    /// What the response cache answered, as far as the exchange is concerned; the cache's
    /// objects stay with the caller.
    enum CacheAnswer {
        /// Proxy the request (a miss, teed or not, or no answer at all).
        case proxy
        /// Serve the stored response.
        case serve
        /// Proxy the request with the cache's conditions: a `304` serves the stored response,
        /// and so does a failure or a 5xx when `servesOnError` (RFC 5861 `stale-if-error`).
        case revalidate(servesOnError: Bool)
    }

    /// What to do once a connection has been made for a request.
    enum ConnectedAction {
        /// The request was answered or abandoned meanwhile: return the unused connection.
        case returnUnused
        /// Send the head and, when `hasPending`, what arrived of the body before (see
        /// ``takePending()``); arm the response timer when `armsResponseTimer`.
        case send(hasPending: Bool, armsResponseTimer: Bool)
    }

    /// What to do after a failed attempt, once it is recorded (``AttemptEnd``).
    enum Failure {
        /// Try ``backend`` now, another backend, with the request from its start; `failed` is
        /// the one whose attempt ended.
        case retry(failed: Backend, attempt: AttemptEnd)
        /// Answer with `answer` and close or keep the connection; `attempt` is the attempt
        /// of ``backend`` that ended, if one did.
        case answer(LocalAnswer, keepAlive: Bool, attempt: AttemptEnd?)
        /// Close the client connection: part of the response was sent already.
        case close(attempt: AttemptEnd)
        /// Serve the stored response being revalidated instead of an error (RFC 5861
        /// `stale-if-error`); `status` is the error the client would have had.
        case serveStored(status: Int, attempt: AttemptEnd?)
    }

    /// A backend attempt that ended, for the backend's counters and the trace; the backend
    /// is ``backend`` unless the ``Failure`` says otherwise.
    struct AttemptEnd {
        var status: Int
        var failed: Bool
        /// Whether the backend is to be taken offline now.
        var marksDown: Bool
    }

    /// What to do with the head of the backend's response.
    enum ResponseHeadAction {
        case none
        /// Pass the interim (1xx) response on.
        case writeInterim
        /// A `304` confirmed the stored response being revalidated: the response is not
        /// written; the stored one is served once it ends.
        case revalidated
        /// Write the response head; the client connection stays open after it when `keepAlive`.
        case write(keepAlive: Bool)
        /// A `101` nobody asked for: close the backend connection and act on
        /// ``failAfterUnaskedSwitch()``.
        case switchedUnasked
    }

    /// What to do once the backend's response has ended.
    enum ResponseEndAction {
        case none
        case finish(Finish)
        /// A `101` (or a 2xx to `CONNECT`) ended: both connections become a tunnel.
        case startTunnel(AttemptEnd)
    }

    /// How an exchange whose response ended is wound up.
    struct Finish {
        var attempt: AttemptEnd
        /// Whether the backend connection goes back to the pool, and whether it settles there
        /// first (after a response that has no body by rule).
        var releasesUpstream: Bool
        var settles: Bool
        /// Whether the client connection stays open for the next request.
        var keepAlive: Bool
        /// Whether the stored response is to be served now (a revalidation's `304`), instead
        /// of the exchange being over.
        var servesStored = false
    }

    private(set) var phase = Phase.idle
    private(set) var request: RequestHead
    private(set) var routing: Routing
    /// When the request started, as the caller's clock read it.
    private(set) var start = NIODeadline.uptimeNanoseconds(0)
    /// The site the request's virtual host names; -1 without virtual hosts (every site, in failover order).
    private(set) var routedSite = -1
    /// Whether replaying the request on another backend is safe: `GET`, `HEAD`, `OPTIONS` and
    /// `DELETE` without a body (idempotent, RFC 9110 9.2.2, and nothing to replay).
    private(set) var isRetryable = false
    /// Counts the requests begun: a backend connection made for one request is not used for
    /// a later one.
    private(set) var serial = 0
    /// The backend of the current attempt; `nil` only before the first is chosen.
    private(set) var backend: Backend?
    /// The backends this request has tried.
    private var attempts = BackendAttempts()
    /// Whether the current connection carried earlier requests (a stale keep-alive connection
    /// failing says nothing about the backend's health).
    private var reusedConnection = false
    /// Request body parts received before the backend connection was ready.
    private var pending: [RequestBodyPart] = []
    private(set) var requestEnded = false
    private(set) var requestSent = false
    private(set) var responseStarted = false
    private(set) var responseEnded = false
    /// The final status the client is given.
    private(set) var status = 0
    private(set) var rxBytes = 0
    private(set) var txBytes = 0
    private var upstreamKeepAlive = true
    private(set) var clientKeepAlive = true
    private var isUpgrade = false
    /// Whether the request goes to the backend with the cache's conditions.
    private var revalidating = false
    /// Whether a revalidation's `304` is followed by the stored response.
    private var servesStored = false
    /// Whether the stored response being revalidated is served when the backend fails.
    private var servesStaleOnError = false
    /// Whether the stored response has been served whole, its exchange waiting for the
    /// request's end.
    private var storedServed = false
    /// Whether the client connection is an HTTP/1 one, which can become a tunnel.
    private let isHTTP1: Bool
    /// What the client pipelined behind the request being answered.
    private var queued = CircularBuffer<Pipelined>()
    /// Close the connection after the response in progress: shutdown asked for it, the
    /// request switches protocols, or the client closed its side.
    private(set) var closesAfterResponse = false
    /// The answer of the last ``RequestAction/answer(keepAlive:)``.
    private(set) var answer = LocalAnswer(status: .ok, body: "", headers: [:], isInternal: true)
    /// The error of the last ``RequestAction/refuse``.
    private(set) var refusal = HTTP1ParseError(description: "")
    private var generator = SplitMix64()
    private var scratch = ChoiceScratch()

    private enum Pipelined {
        case part(RequestParser.Part)
        case malformed(HTTP1ParseError)
    }

    /// The proxy's own endpoint, answered on every listener.
    static let healthPath: StaticString = "/v1/health"

    /// The `Allow` of a 405 answering `CONNECT`: the methods of RFC 9110 9.3 but `CONNECT`.
    static let allowedMethods = "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"

    /// - Parameters:
    ///   - routing: the table in force, kept until the first request brings its own.
    ///   - isHTTP1: whether the client connection is HTTP/1 (it can become a tunnel) rather
    ///     than an HTTP/2 stream.
    init(routing: Routing, isHTTP1: Bool) {
        self.request = Self.noRequest
        self.routing = routing
        self.isHTTP1 = isHTTP1
    }

    var isIdle: Bool {
        if case .idle = phase { return true }
        return false
    }

    /// Whether a request is on its way: looked up, waiting for its connection, proxied.
    var isProxying: Bool {
        switch phase {
        case .proxying, .connecting, .lookingUp: return true
        default: return false
        }
    }

    var hasQueued: Bool { !queued.isEmpty }

    // MARK: The client's request

    /// Gives the routing table in force for a new request, from the table the last one used
    /// (see ``ProxyRuntime/routing(after:)``); called only for a head that starts an exchange.
    typealias RoutingAfter = (_ last: Routing) -> Routing

    /// A part of a request from the client.
    mutating func requestPart(_ part: RequestParser.Part, routing: RoutingAfter, now: NIODeadline) -> RequestAction {
        switch phase {
        case .closing, .tunnel:
            // A request pipelined behind one whose answer closes the connection is not served.
            return .none
        case .local, .proxying, .connecting, .lookingUp, .servingStored:
            if case .head = part {
                queued.append(.part(part))
                return .none
            }
        case .idle:
            break
        }
        guard queued.isEmpty else {
            queued.append(.part(part))
            return .none
        }
        return process(part, routing: routing, now: now)
    }

    /// The next pipelined part to act on now that the connection is idle again, with what to
    /// do with it; `nil` when there is none, or the next one must wait.
    mutating func nextQueued(routing: RoutingAfter, now: NIODeadline) -> (RequestParser.Part?, RequestAction)? {
        while let entry = queued.first {
            switch (entry, phase) {
            case (_, .closing), (_, .tunnel):
                queued.removeAll()
                return nil
            case (.malformed(let error), .idle):
                return (nil, refuse(error))
            case (.part(.head), .connecting), (.part(.head), .proxying), (.part(.head), .local), (.part(.head), .lookingUp),
                (.part(.head), .servingStored), (.malformed, _):
                return nil
            case (.part(let part), _):
                queued.removeFirst()
                let action = process(part, routing: routing, now: now)
                if case .none = action { continue }
                return (part, action)
            }
        }
        return nil
    }

    private mutating func process(_ part: RequestParser.Part, routing: RoutingAfter, now: NIODeadline) -> RequestAction {
        switch part {
        case .head(let head):
            guard case .idle = phase else { return .none }
            return begin(head, routing: routing(self.routing), now: now)
        case .body(let buffer):
            guard isProxying else { return .none }
            rxBytes += buffer.readableBytes
            return forward(.body(.byteBuffer(buffer)))
        case .end(let trailers):
            switch phase {
            case .proxying, .connecting, .lookingUp:
                requestEnded = true
                return forward(.end(trailers))
            case .servingStored:
                requestEnded = true
                guard storedServed else { return .none }
                return .storedResponseDone(keepAlive: endStoredResponse())
            case .local(let answer):
                return answerLocally(answer, keepAlive: request.isKeepAlive)
            case .idle, .closing, .tunnel:
                return .none
            }
        }
    }

    private mutating func begin(_ head: RequestHead, routing new: Routing, now: NIODeadline) -> RequestAction {
        if new !== routing {
            routing = new
        }
        if let problem = head.hostProblem {
            return refuse(problem)
        }
        serial &+= 1
        request = head
        start = now
        switch head.method {
        case .GET, .HEAD, .OPTIONS, .DELETE: isRetryable = !head.hasBody
        default: isRetryable = false
        }
        backend = nil
        attempts.reset()
        revalidating = false
        servesStored = false
        servesStaleOnError = false
        storedServed = false
        reusedConnection = false
        if !pending.isEmpty { pending.removeAll() }
        requestEnded = false
        requestSent = false
        responseStarted = false
        responseEnded = false
        status = 0
        rxBytes = 0
        txBytes = 0
        upstreamKeepAlive = true
        clientKeepAlive = head.isKeepAlive
        isUpgrade = false
        // Nothing after a request to switch protocols is read as HTTP (see ``RequestParser``):
        // unless a tunnel takes over, the connection closes after the response.
        if isHTTP1, head.asksToSwitchProtocols {
            closesAfterResponse = true
            clientKeepAlive = false
        }
        if head.targets(path: Self.healthPath) {
            let online = routing.hasOnlineBackend
            phase = .local(LocalAnswer(status: online ? .ok : .badGateway, body: "", headers: [:], isInternal: true))
            return .none
        }
        if head.isCONNECT, !routing.allowsConnect || !isHTTP1 {
            // A reverse proxy in front of origin servers has no use for a tunnel, and a
            // backend's 2xx would make its connection one (RFC 9110 9.3.6).
            phase = .local(
                LocalAnswer(status: .methodNotAllowed, body: "CONNECT is not allowed\n", headers: ["allow": Self.allowedMethods], isInternal: false)
            )
            return .none
        }
        if routing.hasRoutes {
            guard let site = routing.routes?.site(forAuthority: head.authorityText) else {
                phase = .local(LocalAnswer(status: .notFound, body: "no site serves this host\n", headers: [:], isInternal: false))
                return .none
            }
            routedSite = site
        } else {
            routedSite = -1
        }
        if routing.hasCache {
            phase = .lookingUp
            return .lookup
        }
        return route()
    }

    /// Chooses the request's first backend.
    private mutating func route() -> RequestAction {
        guard let backend = routing.choose(excluding: [], site: routedSite, scratch: &scratch, using: &generator) else {
            phase = .local(
                LocalAnswer(
                    status: .badGateway,
                    body: "no backend online\n",
                    headers: ["retry-after": String(routing.retryAfterSeconds)],
                    isInternal: false
                )
            )
            return .none
        }
        return dispatch(to: backend)
    }

    private mutating func refuse(_ error: HTTP1ParseError) -> RequestAction {
        queued.removeAll()
        phase = .closing
        refusal = error
        return .refuse
    }

    private mutating func dispatch(to backend: Backend) -> RequestAction {
        self.backend = backend
        attempts.begin()
        phase = .connecting
        return .connect
    }

    private mutating func forward(_ part: RequestBodyPart) -> RequestAction {
        guard case .proxying = phase else {
            pending.append(part)
            return .none
        }
        if case .end = part {
            requestSent = true
            return .forward(armsResponseTimer: !responseStarted)
        }
        return .forward(armsResponseTimer: false)
    }

    private mutating func answerLocally(_ answer: LocalAnswer, keepAlive requested: Bool) -> RequestAction {
        let keepAlive = requested && !closesAfterResponse
        phase = keepAlive ? .idle : .closing
        self.answer = answer
        return .answer(keepAlive: keepAlive)
    }

    // MARK: The response cache

    /// Whether RFC 5861 4 lets a stale response stand in for a response with status `code` (500, 502, 503, 504).
    static func isStaleIfErrorStatus(_ code: Int) -> Bool {
        code == 500 || code == 502 || code == 503 || code == 504
    }

    /// The cache answered the lookup for the request numbered `serial`.
    mutating func cacheAnswered(serial: Int, _ answer: CacheAnswer) -> RequestAction {
        guard case .lookingUp = phase, self.serial == serial else { return .none }
        switch answer {
        case .proxy:
            return route()
        case .revalidate(let servesOnError):
            revalidating = true
            servesStaleOnError = servesOnError
            return route()
        case .serve:
            phase = .servingStored
            return .serveStored
        }
    }

    /// The stored response, of status `status`, starts to be served; whether the client
    /// connection may stay open after it, as far as is known now.
    mutating func storedResponseStarted(status: Int) -> Bool {
        phase = .servingStored
        self.status = status
        responseStarted = true
        return clientKeepAlive && !closesAfterResponse
    }

    /// The stored response was served whole, `byteCount` body bytes: whether the client
    /// connection stays open for the next request, or `nil` while the request's end has not
    /// arrived (``RequestAction/storedResponseDone(keepAlive:)`` comes with it).
    mutating func storedResponseEnded(byteCount: Int) -> Bool? {
        guard case .servingStored = phase else { return false }
        txBytes += byteCount
        responseEnded = true
        guard requestEnded else {
            storedServed = true
            return nil
        }
        return endStoredResponse()
    }

    private mutating func endStoredResponse() -> Bool {
        let keepAlive = clientKeepAlive && requestEnded && !closesAfterResponse
        phase = keepAlive ? .idle : .closing
        return keepAlive
    }

    // MARK: The backend connection

    /// Whether a connection attempt is for the request being proxied: the one numbered
    /// `serial`, to `backend`, still waiting for it.
    private func awaits(serial: Int, backend: Backend) -> Bool {
        guard case .connecting = phase else { return false }
        return self.serial == serial && self.backend === backend
    }

    /// A connection was made to `backend` for the request numbered `serial`; `reused` tells
    /// that it carried earlier requests.
    mutating func connected(serial: Int, backend: Backend, reused: Bool) -> ConnectedAction {
        guard awaits(serial: serial, backend: backend) else {
            // The client left or the request was answered while connecting; the connection is
            // clean, nothing was sent on it.
            return .returnUnused
        }
        phase = .proxying
        reusedConnection = reused
        guard !pending.isEmpty else {
            return .send(hasPending: false, armsResponseTimer: false)
        }
        let sentEnd = pending.contains { if case .end = $0 { return true } else { return false } }
        if sentEnd {
            requestSent = true
        }
        return .send(hasPending: true, armsResponseTimer: sentEnd && !responseStarted)
    }

    /// What arrived of the request body before its connection was ready, to be sent now.
    mutating func takePending() -> [RequestBodyPart] {
        defer { pending.removeAll() }
        return pending
    }

    /// No connection could be made to `backend` for the request numbered `serial`; `nil`
    /// when that request no longer waits for one.
    mutating func connectionFailed(serial: Int, backend: Backend) -> Failure? {
        guard awaits(serial: serial, backend: backend) else { return nil }
        return attemptFailed(markDown: true)
    }

    /// The head of the backend's response.
    mutating func responseHead(_ head: ResponseHead) -> ResponseHeadAction {
        guard case .proxying = phase else { return .none }
        if head.isInterim {
            // 100 Continue (the answer to `Expect: 100-continue`) and other interim
            // responses pass through; the final response follows (RFC 9110 15.2).
            return .writeInterim
        }
        // A connection that carried CONNECT is never used again, whatever the answer: after
        // a 2xx it is a tunnel (RFC 9110 9.3.6).
        upstreamKeepAlive = head.isKeepAlive && !request.isCONNECT
        if revalidating, head.statusCode == 304 || (servesStaleOnError && Self.isStaleIfErrorStatus(head.statusCode)) {
            // RFC 9111 4.3.3: the stored response is still good; it is what the client gets.
            // RFC 5861 4: or it may be served stale in place of the error.
            servesStored = true
            return .revalidated
        }
        responseStarted = true
        status = head.statusCode
        if head.statusCode == 101 {
            guard isHTTP1, request.asksToUpgrade else {
                // A switch nobody asked for cannot be honoured on this connection.
                return .switchedUnasked
            }
            isUpgrade = true
        } else if request.isCONNECT, (200..<300).contains(head.statusCode) {
            isUpgrade = true
        }
        if ForwardedRequest.requiresClose(head, request: request) {
            clientKeepAlive = false
        }
        return .write(keepAlive: clientKeepAlive)
    }

    /// `byteCount` bytes of the response body arrived; whether to pass them on.
    mutating func responseBody(byteCount: Int) -> Bool {
        guard case .proxying = phase, !servesStored else { return false }
        txBytes += byteCount
        return true
    }

    /// The backend's response ended.
    mutating func responseEnd() -> ResponseEndAction {
        guard case .proxying = phase else { return .none }
        responseEnded = true
        let attempt = AttemptEnd(status: status, failed: false, marksDown: false)
        if isUpgrade {
            phase = .tunnel
            return .startTunnel(attempt)
        }
        // A response that ended before the request body did leaves unread bytes on the
        // connection, which must not be parsed as the next request.
        let keepAlive = clientKeepAlive && requestEnded && !closesAfterResponse
        let releases = upstreamKeepAlive && requestSent
        if servesStored {
            phase = .servingStored
            return .finish(
                Finish(
                    attempt: AttemptEnd(status: 304, failed: false, marksDown: false),
                    releasesUpstream: releases,
                    settles: releases,
                    keepAlive: keepAlive,
                    servesStored: true
                )
            )
        }
        phase = keepAlive ? .idle : .closing
        return .finish(
            Finish(
                attempt: attempt,
                releasesUpstream: releases,
                // After a response that has no body by rule, a backend that sends one anyway
                // sends it next: the connection waits for it before carrying another request.
                settles: releases && !ForwardedRequest.hasBody(statusCode: status, request: request),
                keepAlive: keepAlive
            )
        )
    }

    /// After ``ResponseHeadAction/switchedUnasked``: the client is answered 502.
    mutating func failAfterUnaskedSwitch() -> Failure {
        responseEnded = true
        let attempt = AttemptEnd(status: 502, failed: true, marksDown: false)
        return answerWithError(.badGateway, body: "backend switched protocols unasked\n", attempt: attempt)
    }

    /// The backend connection closed or failed; `nil` when nothing is to be done.
    mutating func upstreamClosed() -> Failure? {
        guard case .proxying = phase else { return nil }
        if !responseStarted {
            return attemptFailed(markDown: !reusedConnection)
        }
        guard !responseEnded else { return nil }
        // Mid-response nothing can be said to the client but a truncated message.
        responseEnded = true
        phase = .closing
        return .close(attempt: AttemptEnd(status: status, failed: true, marksDown: false))
    }

    /// The backend sent no response head within the response timeout.
    mutating func responseTimedOut() -> Failure? {
        guard case .proxying = phase, requestSent, !responseStarted else { return nil }
        responseEnded = true
        let attempt = AttemptEnd(status: 504, failed: true, marksDown: false)
        return answerWithError(.gatewayTimeout, body: "backend did not respond in time\n", attempt: attempt)
    }

    /// The backend failed before sending a response byte: retry elsewhere when that is safe,
    /// else answer 502.
    private mutating func attemptFailed(markDown: Bool) -> Failure {
        let failed = backend!
        attempts.failed(failed, closedWhileIdle: !markDown)
        let attempt = AttemptEnd(status: 502, failed: true, marksDown: markDown)
        if isRetryable, attempts.allowsAnother(retries: routing.retryAttempts),
            let next = routing.choose(excluding: attempts.tried, site: routedSite, scratch: &scratch, using: &generator)
        {
            requestSent = false
            pending = requestEnded ? [.end(nil)] : []
            _ = dispatch(to: next)
            return .retry(failed: failed, attempt: attempt)
        }
        responseEnded = true
        return answerWithError(.badGateway, body: "backend unavailable\n", attempt: attempt)
    }

    private mutating func answerWithError(_ status: HTTPResponseStatus, body: String, attempt: AttemptEnd?) -> Failure {
        if revalidating, servesStaleOnError, !responseStarted, Self.isStaleIfErrorStatus(Int(status.code)) {
            phase = .servingStored
            return .serveStored(status: Int(status.code), attempt: attempt)
        }
        self.status = Int(status.code)
        // Unread request body bytes would be taken for the next request: close instead.
        let keepAlive = clientKeepAlive && requestEnded && !closesAfterResponse
        phase = keepAlive ? .idle : .closing
        return .answer(LocalAnswer(status: status, body: body, headers: [:], isInternal: false), keepAlive: keepAlive, attempt: attempt)
    }

    // MARK: The client connection

    /// The request cannot be read further: `error` is what the parser found.
    enum ParseErrorAction {
        case none
        /// Answer with the error and close (the connection was idle).
        case refuse(HTTP1ParseError)
        /// The request's body cannot be read to its end: the exchange is abandoned. With a
        /// response already started the connection closes; else the client gets `answer`.
        case abandon(Failure)
        /// Close the connection at once.
        case close
    }

    mutating func parseFailed(_ error: HTTP1ParseError) -> ParseErrorAction {
        switch phase {
        case .idle:
            _ = refuse(error)
            return .refuse(error)
        case .proxying where requestEnded, .connecting where requestEnded, .lookingUp where requestEnded, .servingStored:
            // The request being answered was read whole: the error is in one pipelined
            // behind it, answered in its turn.
            queued.append(.malformed(error))
            return .none
        case _ where !queued.isEmpty:
            queued.append(.malformed(error))
            return .none
        case .proxying, .connecting, .lookingUp:
            if responseStarted {
                responseEnded = true
                phase = .closing
                return .abandon(.close(attempt: AttemptEnd(status: status, failed: false, marksDown: false)))
            }
            responseEnded = true
            clientKeepAlive = false
            let attempt = AttemptEnd(status: 400, failed: false, marksDown: false)
            return .abandon(answerWithError(.badRequest, body: "", attempt: attempt))
        case .local(let answer):
            // The request's end will not come: answer now and close.
            phase = .closing
            return .abandon(.answer(answer, keepAlive: false, attempt: nil))
        case .closing, .tunnel:
            return .none
        }
    }

    /// The client connection went away: the attempt in flight, if any, ends. A client leaving
    /// is never the backend's fault.
    mutating func clientClosed() -> AttemptEnd? {
        defer { phase = .closing }
        guard isProxying, !responseEnded else { return nil }
        responseEnded = true
        // 499: nginx's code for a request the client gave up on.
        status = responseStarted ? status : 499
        return AttemptEnd(status: status, failed: false, marksDown: false)
    }

    /// What to do when the client shuts its side or shutdown asks the connection to go.
    enum WindDown {
        /// Nothing now: the response in progress finishes, then the connection closes.
        case none
        /// Close the connection now.
        case close
    }

    /// The client shut its side of the connection (a half-close): a request read whole is
    /// still answered, then the connection closes; an idle connection closes now (RFC 9112 9.6).
    mutating func clientInputClosed() -> WindDown {
        closesAfterResponse = true
        clientKeepAlive = false
        switch phase {
        case .idle where queued.isEmpty:
            phase = .closing
            return .close
        case .proxying where !requestEnded, .connecting where !requestEnded, .lookingUp where !requestEnded:
            // The request's body will not be finished: nothing can be answered.
            return .close
        case .idle, .local, .proxying, .connecting, .lookingUp, .servingStored, .closing, .tunnel:
            return .none
        }
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its response.
    mutating func quiesce() -> WindDown {
        closesAfterResponse = true
        switch phase {
        case .idle:
            phase = .closing
            return .close
        case .proxying, .connecting, .lookingUp, .servingStored:
            clientKeepAlive = false
            return .none
        case .local, .closing, .tunnel:
            return .none
        }
    }

    /// The connection is closing for a reason of the shell's (a wait timed out, a tunnel could
    /// not be set up).
    mutating func close() {
        phase = .closing
    }

    /// Lets go of the request's bytes once it is answered: they are a slice of the memory the
    /// client's connection reads into, which can be reused only when nothing else holds it.
    mutating func releaseRequest() {
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
