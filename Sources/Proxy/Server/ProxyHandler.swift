import Logging
import NIOCore
import NIOHTTP1

/// Proxies the requests of one client connection (or one HTTP/2 stream) to backends.
///
/// All work happens on the connection's event loop: the backend connection is taken from this
/// loop's ``UpstreamPool``, body parts are passed on as the `ByteBuffer`s the parser produced,
/// and reads on either side are held while the other side cannot take more (see ``read(context:)``
/// and ``UpstreamHandler``), so no body is ever buffered whole.
///
/// The proxy answers `/v1/health` itself (any method, sidekick's health endpoint): 200 when a
/// site has a backend online, else 502.
///
/// On an HTTP/1 connection the handler encodes responses itself (see ``ForwardedRequest``),
/// so a backend's head is written to the client once, filtered on the way; on an HTTP/2
/// stream it hands response parts to the stream's codec.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// How the client connection carries requests.
    enum ClientProtocol {
        /// An HTTP/1 connection: responses are written as bytes, and the connection can turn
        /// into a tunnel.
        case http1
        /// One stream of an HTTP/2 connection.
        case http2Stream
    }

    /// The proxy's own endpoint, answered on every listener.
    static let healthPath: StaticString = "/v1/health"

    /// The `Allow` of a 405 answering `CONNECT`: the methods of RFC 9110 9.3 but `CONNECT`.
    static let allowedMethods = "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Answering by itself once the request has been read. Indirect, so the state's
        /// payloads are single references and matching it per request stays cheap.
        indirect case local(LocalResponse)
        /// Proxying ``exchange``.
        case proxying
        /// The connection is being closed; anything more the client sends is ignored.
        case closing
        /// Bytes are tunnelled; this handler is leaving the pipeline.
        case tunnel
    }

    private struct LocalResponse {
        var request: RequestHead
        var status: HTTPResponseStatus
        var body: String
        var headers: HTTPHeaders
        var isInternal: Bool
        var start: NIODeadline
        var wallClockStart: Int64
    }

    private let runtime: ProxyRuntime
    private let clientProtocol: ClientProtocol
    /// How requests from this client are forwarded.
    private let forwarding: ForwardedRequest
    private var context: ChannelHandlerContext?
    /// The channel's allocator, kept: reaching it through the context costs a reference count
    /// on the channel each time.
    private var allocator = ByteBufferAllocator()
    /// Whether the HTTP/1 response being written has a chunked body.
    private var chunkedResponse = false
    /// Whether something was written to the client since the last flush.
    private var hasUnflushedWrites = false
    /// A response head not written yet, with the body bytes copied in behind it so far (see
    /// ``writeForwardedHead(_:context:)``).
    private var heldBack: ByteBuffer?
    /// The memory of the last response head, for the next one.
    private var spareHeadBuffer = SpareBuffer()
    /// The pool of this connection's event loop.
    private let pool: UpstreamPool
    private var state: State = .idle
    /// The request being proxied while the state is ``State/proxying``.
    private let exchange: Exchange
    private var readHeld = false
    private var generator = SplitMix64()
    private var scratch = ChoiceScratch()
    /// Closes the connection when no request head arrives in time (header read or idle timeout).
    private var waitTimer: ConnectionTimer?
    /// Answers 504 when the backend sends no response head in time.
    private var responseTimer: ConnectionTimer?
    /// Set while a kept-alive HTTP/1 connection waits for the first byte of its next request;
    /// a read that brings bytes but no request part means a head has begun, and the short
    /// header-read timeout replaces the idle timeout (a slowloris client trickling a head on a
    /// kept-alive connection).
    private var awaitingFirstByte = false
    /// Whether the current read brought a request part.
    private var readBroughtPart = false
    /// The header-read timeout of the routing table the last response was sent under.
    private var headerReadTimeout = TimeAmount.seconds(30)
    /// What a client pipelined behind the request being answered (RFC 9112 9.3.2): parts of
    /// later requests, and an error where one could not be parsed, handled in order once the
    /// request is answered; reads stop while any wait.
    private var queued = CircularBuffer<Pipelined>()

    private enum Pipelined {
        case part(RequestParser.Part)
        /// A request that could not be parsed: answered with its error status, then the
        /// connection closes.
        case malformed(HTTP1ParseError)
    }

    /// Set once the client has closed its side of the connection (with
    /// `allowRemoteHalfClosure`): the request being answered is finished, then the
    /// connection closes (RFC 9112 9.6).
    private var clientInputClosed = false
    /// How long a connection closing after its response keeps reading and discarding what the
    /// client still sends, once the response is written and the proxy's side is shut: closing
    /// while unread bytes remain would reset the connection, and the client might lose the
    /// response (RFC 9112 9.6; nginx's lingering close).
    static let lingerTimeout = TimeAmount.seconds(5)
    /// Set while lingering; the wait timer then closes the connection.
    private var isLingering = false
    private var isDrainingQueue = false
    /// Close the connection after the response in progress: shutdown asked for it, or the
    /// client sent something unparseable behind its request.
    private var closeAfterResponse = false

    /// - Parameters:
    ///   - channel: the client's connection (or HTTP/2 stream), on whose event loop this is
    ///     created.
    ///   - scheme: `http` or `https`, for `X-Forwarded-Proto`.
    init(runtime: ProxyRuntime, channel: any Channel, scheme: String, clientProtocol: ClientProtocol) {
        self.runtime = runtime
        self.clientProtocol = clientProtocol
        self.pool = runtime.pools.pool(for: channel.eventLoop)
        self.forwarding = ForwardedRequest(clientIP: channel.remoteAddress?.ipAddress, scheme: scheme)
        self.exchange = Exchange(routing: runtime.routing)
    }

    // MARK: Client side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        downstreamIsWritable = context.channel.isWritable
        // The closures below refer to this handler strongly (a weakly referenced object pays
        // for every retain and release); handlerRemoved(context:) drops them.
        waitTimer = ConnectionTimer(eventLoop: context.eventLoop) { [self] in
            guard case .idle = state else {
                if isLingering { self.context?.close(promise: nil) }
                return
            }
            state = .closing
            self.context?.close(promise: nil)
        }
        responseTimer = ConnectionTimer(eventLoop: context.eventLoop) { [self] in
            responseTimedOut()
        }
        waitTimer?.arm(in: exchange.routing.limits.headerReadTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        waitTimer?.cancel()
        responseTimer?.cancel()
        if case .proxying = state, let upstream = exchange.upstream {
            exchange.upstream = nil
            upstream.close()
        }
        downstreamIsWritable = false
        self.context = nil
    }

    /// A part of an HTTP/2 stream's request, from the stream's codec; its head is read as an
    /// HTTP/1 head would be (see ``RequestHead/init(_:)``).
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            do {
                requestPartReceived(.head(try RequestHead(head)))
            } catch {
                errorCaught(context: context, error: error)
            }
        case .body(let body):
            requestPartReceived(.body(body))
        case .end(let trailers):
            requestPartReceived(.end(trailers))
        }
    }

    /// A part of a request, from ``RequestReader`` (HTTP/1) or the stream's codec (HTTP/2).
    func requestPartReceived(_ part: RequestParser.Part) {
        guard let context else { return }
        readBroughtPart = true
        switch state {
        case .closing, .tunnel:
            // A request pipelined behind one whose answer closes the connection is not served.
            return
        case .local, .proxying:
            if case .head = part {
                queued.append(.part(part))
                return
            }
        case .idle:
            break
        }
        if !queued.isEmpty {
            queued.append(.part(part))
        } else {
            process(part, context: context)
        }
    }

    private func process(_ part: RequestParser.Part, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            guard case .idle = state else { return }
            startRequest(head, context: context)
        case .body(let buffer):
            guard case .proxying = state else { return }
            exchange.rxBytes += buffer.readableBytes
            forward(.body(.byteBuffer(buffer)))
        case .end(let trailers):
            switch state {
            case .proxying:
                exchange.requestEnded = true
                forward(.end(trailers))
            case .local(let response):
                sendLocal(response, keepAlive: response.request.isKeepAlive)
            case .idle, .closing, .tunnel:
                break
            }
        }
    }

    /// The end of an HTTP/2 stream's read burst; an HTTP/1 connection's is reported by
    /// ``RequestReader`` with ``readComplete()``.
    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
        context.fireChannelReadComplete()
    }

    /// The client's read burst ended: what it brought for the backend is sent.
    func readComplete() {
        if case .proxying = state {
            exchange.upstream?.flush()
        } else if awaitingFirstByte, !readBroughtPart, case .idle = state {
            awaitingFirstByte = false
            waitTimer?.arm(in: headerReadTimeout)
        }
        readBroughtPart = false
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        downstreamIsWritable = context.channel.isWritable
        if downstreamIsWritable, case .proxying = state {
            exchange.upstream?.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        waitTimer?.cancel()
        responseTimer?.cancel()
        if case .proxying = state, !exchange.responseEnded {
            // The client went away: release what the request holds. This is never the
            // backend's fault, so its health is left alone.
            exchange.responseEnded = true
            if let upstream = exchange.upstream {
                exchange.upstream = nil
                upstream.close()
            }
            // 499: nginx's code for a request the client gave up on.
            let status = exchange.responseStarted ? exchange.status : 499
            finishAttempt(status: status, failed: false)
            trace(status: status)
        }
        state = .closing
        context.fireChannelInactive()
    }

    /// A request that cannot be parsed (RFC 9112 smuggling defences: conflicting framing, bad
    /// chunk sizes, obs-fold, oversized headers) gets 400 and the connection closes. If the
    /// error comes behind a complete request still being answered, that answer is finished
    /// first, as NIO's `HTTPServerPipelineHandler` does. Other errors close the connection;
    /// ``channelInactive(context:)`` then releases the request in flight.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runtime.logger.debug("client connection error", metadata: ["error": "\(error)"])
        let parseError = error as? HTTP1ParseError
        let unparseable = parseError != nil
        switch state {
        case .idle where unparseable:
            queued.removeAll()
            refuse(parseError!, context: context)
        case .proxying where unparseable && exchange.requestEnded:
            // The request being answered was read whole: the error is in one pipelined
            // behind it, answered in its turn.
            queued.append(.malformed(parseError!))
        case _ where !queued.isEmpty && unparseable:
            queued.append(.malformed(parseError!))
        case .proxying where unparseable:
            // The request body cannot be read to its end: the exchange is abandoned.
            responseTimer?.disarm()
            if let upstream = exchange.upstream {
                exchange.upstream = nil
                upstream.close()
            }
            if exchange.responseStarted {
                exchange.responseEnded = true
                finishAttempt(status: exchange.status, failed: false)
                trace(status: exchange.status)
                state = .closing
                context.close(promise: nil)
            } else {
                finishAttempt(status: 400, failed: false)
                exchange.clientKeepAlive = false
                respondWithError(status: .badRequest, body: "")
            }
        case .local(let response) where unparseable:
            // The request's end will not come: answer now and close.
            sendLocal(response, keepAlive: false)
        case .closing where unparseable:
            break
        case .idle, .proxying, .local, .closing, .tunnel:
            queued.removeAll()
            context.close(promise: nil)
        }
    }

    /// Answers a request that cannot be parsed with its error status, and closes.
    private func refuse(_ error: HTTP1ParseError, context: ChannelHandlerContext) {
        state = .closing
        let head = HTTPResponseHead(
            version: .http1_1,
            status: error.status,
            headers: ["connection": "close", "content-length": "0"]
        )
        writeHead(head, context: context)
        writeEndAndClose(nil, context: context)
    }

    /// Holds the channel's next read while the request body cannot go anywhere: the backend
    /// connection is not ready or not writable. Reads resume in ``resumeClientReads()``.
    func read(context: ChannelHandlerContext) {
        if canReadFromClient {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// Reads go on while a response is being sent, unlike NIO's `HTTPServerPipelineHandler`
    /// which stops them (and with them the socket's poll registration) for every request: a
    /// client rarely pipelines, and when it does its next request waits in ``queued``.
    private var canReadFromClient: Bool {
        guard queued.isEmpty else { return false }
        guard case .proxying = state, !exchange.requestEnded else { return true }
        return exchange.upstream?.isWritable ?? false
    }

    /// Handles queued pipelined parts now that the connection is idle again.
    private func drainQueue() {
        guard !isDrainingQueue, let context else { return }
        isDrainingQueue = true
        defer { isDrainingQueue = false }
        while let entry = queued.first {
            switch (entry, state) {
            case (_, .closing), (_, .tunnel):
                queued.removeAll()
            case (.malformed(let error), .idle):
                queued.removeAll()
                refuse(error, context: context)
            case (.part(.head), .idle), (.part(.body), _), (.part(.end), _):
                queued.removeFirst()
                if case .part(let part) = entry {
                    process(part, context: context)
                }
            case (.part(.head), _), (.malformed, _):
                return
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            clientClosedInput(context: context)
            return
        }
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Graceful shutdown: an idle connection closes now, a busy one after its response.
        closeAfterResponse = true
        switch state {
        case .idle:
            state = .closing
            context.close(promise: nil)
        case .proxying:
            exchange.clientKeepAlive = false
        case .local, .closing, .tunnel:
            break
        }
    }

    /// The client shut its side of the connection (a half-close, as `nc -N` or `curl` with
    /// a request on standard input do): a request read whole is still answered, then the
    /// connection closes; an idle connection closes now (RFC 9112 9.6).
    private func clientClosedInput(context: ChannelHandlerContext) {
        clientInputClosed = true
        closeAfterResponse = true
        switch state {
        case .idle where queued.isEmpty:
            state = .closing
            context.close(promise: nil)
        case .closing:
            // A close is on its way; a lingering one need wait no longer.
            if isLingering { context.close(promise: nil) }
        case .proxying where !exchange.requestEnded:
            // The request's body will not be finished: nothing can be answered.
            context.close(promise: nil)
        case .idle, .local, .proxying, .tunnel:
            break
        }
    }

    private func resumeClientReads() {
        guard readHeld, canReadFromClient, let context else { return }
        readHeld = false
        context.read()
    }

    /// Waits for the next request on a kept-alive connection: `idle_timeout` until its first
    /// byte, then `header_read_timeout` for the rest of its head.
    private func awaitNextRequest(_ limits: ConnectionLimits, now: NIODeadline? = nil) {
        waitTimer?.arm(in: limits.idleTimeout, now: now)
        headerReadTimeout = limits.headerReadTimeout
        awaitingFirstByte = clientProtocol == .http1
    }

    // MARK: Requests

    private func startRequest(_ head: RequestHead, context: ChannelHandlerContext) {
        waitTimer?.disarm()
        awaitingFirstByte = false
        if let problem = head.hostProblem {
            queued.removeAll()
            refuse(problem, context: context)
            return
        }
        let routing = runtime.routing(after: exchange.routing)
        let now = NIODeadline.now()
        // Nothing after a request to switch protocols is read as HTTP (see ``RequestParser``):
        // unless a tunnel takes over, the connection closes after the response.
        let switchesProtocols = clientProtocol == .http1 && head.asksToSwitchProtocols
        if switchesProtocols {
            closeAfterResponse = true
        }
        if head.targets(path: Self.healthPath) {
            let online = routing.hasOnlineBackend
            state = .local(
                LocalResponse(
                    request: head,
                    status: online ? .ok : .badGateway,
                    body: "",
                    headers: [:],
                    isInternal: true,
                    start: now,
                    wallClockStart: TraceRecord.wallClockNow()
                )
            )
            return
        }
        if head.isCONNECT, !routing.allowsConnect || clientProtocol == .http2Stream {
            // A reverse proxy in front of origin servers has no use for a tunnel, and a
            // backend's 2xx would make its connection one (RFC 9110 9.3.6).
            state = .local(
                LocalResponse(
                    request: head,
                    status: .methodNotAllowed,
                    body: "CONNECT is not allowed\n",
                    headers: ["allow": Self.allowedMethods],
                    isInternal: false,
                    start: now,
                    wallClockStart: TraceRecord.wallClockNow()
                )
            )
            return
        }
        guard let backend = routing.choose(excluding: [], scratch: &scratch, using: &generator) else {
            state = .local(
                LocalResponse(
                    request: head,
                    status: .badGateway,
                    body: "no backend online\n",
                    headers: ["retry-after": String(routing.retryAfterSeconds)],
                    isInternal: false,
                    start: now,
                    wallClockStart: TraceRecord.wallClockNow()
                )
            )
            return
        }
        exchange.begin(head, routing: routing, now: now)
        if switchesProtocols {
            exchange.clientKeepAlive = false
        }
        state = .proxying
        dispatch(to: backend)
    }

    private func forward(_ part: RequestBodyPart) {
        guard let upstream = exchange.upstream else {
            exchange.pending.append(part)
            return
        }
        upstream.write(part)
        if case .end = part {
            requestSent()
        }
    }

    /// Sends the request to `backend` on a pooled or new connection.
    private func dispatch(to backend: Backend) {
        exchange.backend = backend
        exchange.attempts += 1
        backend.requestStarted()
        if let idle = pool.takeIdle(backend) {
            connected(serial: exchange.serial, backend: backend, result: .success(idle))
        } else {
            pool.connect(backend, settings: exchange.routing.upstream) { [self, serial = exchange.serial] result in
                connected(serial: serial, backend: backend, result: result)
            }
        }
    }

    /// A connection to `backend` for the request numbered `serial` (see ``Exchange/serial``).
    private func connected(serial: Int, backend: Backend, result: Result<UpstreamHandler, any Error>) {
        guard case .proxying = state, exchange.serial == serial, exchange.backend === backend else {
            // The client left or the request was answered while connecting; the connection is
            // clean, nothing was sent on it.
            if case .success(let upstream) = result {
                pool.release(upstream, settings: exchange.routing.upstream)
            }
            return
        }
        let upstream: UpstreamHandler
        switch result {
        case .failure(let error):
            runtime.logger.debug("backend connection failed", metadata: ["backend": "\(backend.endpoint)", "error": "\(error)"])
            attemptFailed(markDown: true)
            return
        case .success(let handler):
            upstream = handler
        }
        exchange.upstream = upstream
        exchange.reusedConnection = upstream.requestCount > 0
        upstream.requestCount += 1
        upstream.delegate = self
        upstream.writeHead(exchange.request, forwarding: forwarding)
        var sentEnd = false
        for part in exchange.pending {
            upstream.write(part)
            if case .end = part {
                sentEnd = true
            }
        }
        exchange.pending.removeAll()
        upstream.flush()
        if sentEnd {
            requestSent()
        }
        resumeClientReads()
    }

    private func requestSent() {
        exchange.requestSent = true
        guard !exchange.responseStarted else { return }
        responseTimer?.arm(in: exchange.routing.upstream.responseTimeout)
    }

    private func responseTimedOut() {
        guard case .proxying = state, exchange.requestSent, !exchange.responseStarted else { return }
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            upstream.close()
        }
        finishAttempt(status: 504, failed: true)
        respondWithError(status: .gatewayTimeout, body: "backend did not respond in time\n")
    }

    /// The backend failed before sending a response byte: retry elsewhere when that is safe,
    /// else answer 502.
    private func attemptFailed(markDown: Bool) {
        responseTimer?.disarm()
        finishAttempt(status: 502, failed: true)
        if markDown, let backend = exchange.backend {
            exchange.tried.append(backend)
            runtime.proxyFailed(backend)
        } else {
            // A keep-alive connection the backend had closed (RFC 9112 9.3.1 allows a server to
            // close an idle connection at any time): the backend may be fine, so it stays a
            // candidate, and the attempt does not count. Each such failure uses up one pooled
            // connection, so this cannot go on for ever.
            exchange.attempts -= 1
        }
        if exchange.isRetryable, exchange.attempts <= exchange.routing.retryAttempts,
            let next = exchange.routing.choose(excluding: exchange.tried, scratch: &scratch, using: &generator)
        {
            runtime.retries.increment()
            exchange.requestSent = false
            exchange.pending = exchange.requestEnded ? [.end(nil)] : []
            dispatch(to: next)
            return
        }
        respondWithError(status: .badGateway, body: "backend unavailable\n")
    }

    /// Ends the exchange's current backend attempt in the backend's counters.
    private func finishAttempt(status: Int, failed: Bool, now: NIODeadline = .now()) {
        exchange.backend?.requestFinished(
            status: status,
            latency: now - exchange.start,
            failed: failed,
            rx: exchange.rxBytes,
            tx: exchange.txBytes
        )
    }

    private func respondWithError(status: HTTPResponseStatus, body: String) {
        exchange.responseEnded = true
        trace(status: Int(status.code))
        let response = LocalResponse(
            request: exchange.request,
            status: status,
            body: body,
            headers: [:],
            isInternal: false,
            start: exchange.start,
            wallClockStart: exchange.wallClockStart
        )
        exchange.end()
        // Unread request body bytes would be taken for the next request: close instead.
        sendLocal(response, keepAlive: exchange.clientKeepAlive && exchange.requestEnded, traced: true)
    }

    private func sendLocal(_ response: LocalResponse, keepAlive requested: Bool, traced: Bool = false) {
        guard let context else { return }
        let keepAlive = requested && !closeAfterResponse
        var headers = response.headers
        headers.add(name: "content-length", value: String(response.body.utf8.count))
        if !response.body.isEmpty {
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if !response.request.version.supportsChunking {
            headers.add(name: "connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: response.request.version.responseVersion, status: response.status, headers: headers)
        if !traced {
            let record = TraceRecord(
                time: response.wallClockStart,
                client: forwarding.clientIP ?? "",
                method: response.request.method.rawValue,
                path: Self.path(of: response.request.uri),
                query: Self.query(of: response.request.uri),
                status: Int(response.status.code),
                rx: 0,
                tx: response.body.utf8.count,
                latency: .now() - response.start,
                timeToFirstByte: nil,
                backend: "",
                site: ""
            )
            runtime.trace(record, filter: runtime.routing.trace, isInternal: response.isInternal)
        }
        state = keepAlive ? .idle : .closing
        if keepAlive {
            awaitNextRequest(runtime.routing.limits)
        }
        writeHead(head, context: context)
        if !response.body.isEmpty, !response.request.isHEAD {
            writeBody(ByteBuffer(string: response.body), context: context)
        }
        if keepAlive {
            writeEnd(nil, context: context)
            drainQueue()
        } else {
            writeEndAndClose(nil, context: context)
        }
        resumeClientReads()
    }

    // MARK: Backend side

    /// The client channel's writability, kept up to date from its events (see
    /// ``channelWritabilityChanged(context:)``): it is consulted on every read of the backend's
    /// connection.
    private(set) var downstreamIsWritable = false

    func upstreamReceived(_ part: ResponseParser.Part) {
        guard case .proxying = state, let context else { return }
        switch part {
        case .head(let head):
            if head.isInterim {
                // 100 Continue (the answer to `Expect: 100-continue`) and other interim
                // responses pass through; the final response follows (RFC 9110 15.2).
                var interim = head.httpResponseHead
                interim.headers.removeHopByHopFields()
                interim.version = exchange.request.version.responseVersion
                writeHead(interim, context: context)
                return
            }
            responseTimer?.disarm()
            exchange.responseStarted = true
            exchange.status = head.statusCode
            if exchange.routing.trace != nil {
                exchange.firstByte = .now()
            }
            // A connection that carried CONNECT is never used again, whatever the answer: after
            // a 2xx it is a tunnel (RFC 9110 9.3.6).
            exchange.upstreamKeepAlive = head.isKeepAlive && !exchange.request.isCONNECT
            if head.statusCode == 101 {
                if clientProtocol == .http1, exchange.request.asksToUpgrade {
                    exchange.isUpgrade = true
                } else {
                    // A switch nobody asked for cannot be honoured on this connection.
                    exchange.upstream?.recordUnaskedSwitch()
                    attemptFailedAfterBadResponse()
                    return
                }
            } else if exchange.request.isCONNECT, (200..<300).contains(head.statusCode) {
                exchange.isUpgrade = true
            }
            if ForwardedRequest.requiresClose(head, request: exchange.request) {
                exchange.clientKeepAlive = false
            }
            writeForwardedHead(head, context: context)
        case .body(let buffer):
            exchange.txBytes += buffer.readableBytes
            writeBody(buffer, context: context)
        case .end(let trailers):
            if exchange.isUpgrade {
                startTunnel()
            } else {
                finishExchange(trailers: trailers)
            }
        }
    }

    private func attemptFailedAfterBadResponse() {
        let upstream = exchange.upstream
        exchange.upstream = nil
        upstream?.close()
        finishAttempt(status: 502, failed: true)
        respondWithError(status: .badGateway, body: "backend switched protocols unasked\n")
    }

    private func finishExchange(trailers: HTTPHeaders?) {
        guard let context else { return }
        exchange.responseEnded = true
        let now = NIODeadline.now()
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            if exchange.upstreamKeepAlive, exchange.requestSent {
                // After a response that has no body by rule, a backend that sends one anyway
                // sends it next: the connection waits for it before carrying another request.
                let bodiless = !ForwardedRequest.hasBody(statusCode: exchange.status, request: exchange.request)
                pool.release(upstream, settings: exchange.routing.upstream, now: now, settle: bodiless ? UpstreamPool.bodilessSettle : nil)
            } else {
                upstream.close()
            }
        }
        finishAttempt(status: exchange.status, failed: false, now: now)
        trace(status: exchange.status)
        // A response that ended before the request body did leaves unread bytes on the
        // connection, which must not be parsed as the next request.
        let keepAlive = exchange.clientKeepAlive && exchange.requestEnded && !closeAfterResponse
        exchange.end()
        state = keepAlive ? .idle : .closing
        if keepAlive {
            awaitNextRequest(exchange.routing.limits, now: now)
            writeEnd(trailers, context: context)
            drainQueue()
        } else {
            writeEndAndClose(trailers, context: context)
        }
        resumeClientReads()
    }

    func upstreamReadComplete() {
        guard hasUnflushedWrites, let context else { return }
        flushClient(context: context)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable {
            resumeClientReads()
        }
    }

    func upstreamClosed(error: (any Error)?) {
        guard case .proxying = state, let context else { return }
        exchange.upstream = nil
        if !exchange.responseStarted {
            runtime.logger.debug(
                "backend closed before responding",
                metadata: ["backend": "\(exchange.backend?.endpoint.description ?? "")", "error": "\(error.map { "\($0)" } ?? "eof")"]
            )
            attemptFailed(markDown: !exchange.reusedConnection)
        } else if !exchange.responseEnded {
            // Mid-response nothing can be said to the client but a truncated message.
            exchange.responseEnded = true
            finishAttempt(status: exchange.status, failed: true)
            trace(status: exchange.status)
            state = .closing
            context.close(promise: nil)
        }
    }

    // MARK: Upgrade

    /// After a `101 Switching Protocols` both connections carry raw bytes: the HTTP handlers
    /// leave both pipelines and a ``TunnelHandler`` pair copies bytes each way. The readers are
    /// removed last and hand on what they had read past the HTTP message.
    private func startTunnel() {
        guard let context, let upstream = exchange.upstream, let upstreamChannel = upstream.channel else {
            state = .closing
            context?.close(promise: nil)
            return
        }
        exchange.upstream = nil
        exchange.responseEnded = true
        upstream.delegate = nil
        finishAttempt(status: exchange.status, failed: false)
        trace(status: exchange.status)
        state = .tunnel
        waitTimer?.cancel()
        responseTimer?.cancel()
        flushClient(context: context)
        let (clientSide, backendSide) = TunnelHandler.pair()
        do {
            // Both tunnel ends are in place before the HTTP handlers leave, so the bytes each
            // side read past the HTTP messages, handed on as the handlers go, reach the other.
            let backendPipeline = upstreamChannel.pipeline.syncOperations
            let clientPipeline = context.pipeline.syncOperations
            try backendPipeline.addHandler(backendSide)
            try clientPipeline.addHandler(clientSide)
            backendPipeline.removeHandler(upstream, promise: nil)
            clientPipeline.removeHandler(context: context, promise: nil)
            clientPipeline.removeHandler(try clientPipeline.handler(type: RequestReader.self), promise: nil)
            upstreamChannel.flush()
            context.channel.flush()
        } catch {
            runtime.logger.debug("switching to a tunnel failed", metadata: ["error": "\(error)"])
            upstreamChannel.close(promise: nil)
            context.close(promise: nil)
        }
    }

    // MARK: Writing responses

    /// Writes a response head as it is: the proxy's own answers and interim responses.
    private func writeHead(_ head: HTTPResponseHead, context: ChannelHandlerContext) {
        hasUnflushedWrites = true
        switch clientProtocol {
        case .http1:
            if head.status.code >= 200 {
                chunkedResponse = false
            }
            var buffer = allocator.buffer(capacity: 256)
            buffer.writeResponseHead(head)
            write(buffer, context: context)
        case .http2Stream:
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        }
    }

    /// Writes the head of a backend's response, rewritten for the client.
    ///
    /// On HTTP/1 the head is held back until the next write, flush or end, so that a small
    /// body read with it (most responses fit in one read) is copied in behind it and the whole
    /// response goes down the pipeline as one buffer, in one system call.
    private func writeForwardedHead(_ response: ResponseHead, context: ChannelHandlerContext) {
        hasUnflushedWrites = true
        switch clientProtocol {
        case .http1:
            let headBytes = ForwardedRequest.maximumLength(of: response)
            let bodyBytes = response.fields.contentLength.map { $0 <= Self.coalescedBodyBytes ? $0 : 0 } ?? 0
            var buffer = spareHeadBuffer.take(capacity: headBytes + bodyBytes, allocator: allocator)
            chunkedResponse = ForwardedRequest.writeResponseHead(
                for: response,
                request: exchange.request,
                keepAlive: exchange.clientKeepAlive,
                into: &buffer
            )
            writeHeldBack(context: context)
            heldBack = buffer
        case .http2Stream:
            let head = ForwardedRequest.responseHead(
                for: response.httpResponseHead,
                request: exchange.request,
                keepAlive: exchange.clientKeepAlive
            )
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        }
    }

    /// Bodies up to this size are copied behind their head (see ``writeForwardedHead``); a
    /// copy of a few kilobytes costs less than another buffer through the pipeline.
    private static let coalescedBodyBytes = 16 * 1024

    private func writeBody(_ body: ByteBuffer, context: ChannelHandlerContext) {
        hasUnflushedWrites = true
        switch clientProtocol {
        case .http1 where chunkedResponse:
            ChunkedBody.writeChunk(.byteBuffer(body), allocator: allocator) { write($0, context: context) }
        case .http1:
            if heldBack != nil, body.readableBytes <= heldBack!.writableBytes {
                heldBack!.writeImmutableBuffer(body)
            } else {
                write(.byteBuffer(body), context: context)
            }
        case .http2Stream:
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
    }

    /// Writes bytes to an HTTP/1 client, after the head held back, if any.
    private func write(_ bytes: IOData, context: ChannelHandlerContext) {
        writeHeldBack(context: context)
        context.write(NIOAny(bytes), promise: nil)
    }

    private func write(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        write(.byteBuffer(bytes), context: context)
    }

    private func writeHeldBack(context: ChannelHandlerContext) {
        if let heldBack = takeHeldBack() {
            context.write(NIOAny(heldBack), promise: nil)
        }
    }

    /// The head held back, now to be written; its memory is kept for the next head.
    private func takeHeldBack() -> ByteBuffer? {
        guard let heldBack = heldBack.take() else { return nil }
        spareHeadBuffer.keep(heldBack)
        return heldBack
    }

    /// Sends what was written to the client so far.
    private func flushClient(context: ChannelHandlerContext) {
        hasUnflushedWrites = false
        writeHeldBack(context: context)
        context.flush()
    }

    /// Ends the response and flushes it; `promise` completes once it is written.
    private func writeEnd(_ trailers: HTTPHeaders?, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        hasUnflushedWrites = false
        switch clientProtocol {
        case .http1 where chunkedResponse:
            chunkedResponse = false
            var last = allocator.buffer(capacity: 5)
            last.writeLastChunk(trailers: trailers)
            writeHeldBack(context: context)
            context.writeAndFlush(NIOAny(last), promise: promise)
        case .http1:
            if let promise {
                let last = takeHeldBack() ?? ByteBuffer()
                context.writeAndFlush(NIOAny(last), promise: promise)
            } else {
                flushClient(context: context)
            }
        case .http2Stream:
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: promise)
        }
    }

    /// Ends the response and closes the connection once it is written: on HTTP/1 by a
    /// lingering close (see ``lingerTimeout``).
    private func writeEndAndClose(_ trailers: HTTPHeaders?, context: ChannelHandlerContext) {
        let written = context.eventLoop.makePromise(of: Void.self)
        writeEnd(trailers, context: context, promise: written)
        written.futureResult.assumeIsolated().whenComplete { [self] result in
            guard case .success = result, clientProtocol == .http1, !clientInputClosed else {
                context.close(promise: nil)
                return
            }
            linger(context: context)
        }
    }

    /// Shuts the proxy's side of the connection and reads on, discarding, until the client
    /// closes its side or ``lingerTimeout`` passes.
    private func linger(context: ChannelHandlerContext) {
        state = .closing
        isLingering = true
        waitTimer?.arm(in: Self.lingerTimeout)
        let shut = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: shut)
        shut.futureResult.assumeIsolated().whenFailure { _ in
            context.close(promise: nil)
        }
        resumeClientReads()
    }

    // MARK: Trace

    private func trace(status: Int) {
        guard exchange.routing.trace != nil else { return }
        let record = TraceRecord(
            time: exchange.wallClockStart,
            client: forwarding.clientIP ?? "",
            method: exchange.request.method.rawValue,
            path: Self.path(of: exchange.request.uri),
            query: Self.query(of: exchange.request.uri),
            status: status,
            rx: exchange.rxBytes,
            tx: exchange.txBytes,
            latency: .now() - exchange.start,
            timeToFirstByte: exchange.firstByte.map { $0 - exchange.start },
            backend: exchange.backend?.endpoint.description ?? "",
            site: exchange.backend?.siteName ?? ""
        )
        runtime.trace(record, filter: exchange.routing.trace, isInternal: false)
    }

    static func path(of uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
    }

    static func query(of uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? ""
    }
}
