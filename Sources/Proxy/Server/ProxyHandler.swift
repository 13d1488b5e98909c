import Logging
import NIOCore
import NIOHTTP1

/// Proxies the requests of one client connection (or one HTTP/2 stream) to backends: the I/O
/// shell around an ``ExchangeStateMachine``, which decides what happens to each request. This
/// handler feeds it the client's request parts, the backend connection's events and the
/// timers' expiries, and performs what it answers: connecting, writing to either side,
/// recording metrics and traces, arming timers, closing.
///
/// All work happens on the connection's event loop: the backend connection is taken from this
/// loop's ``UpstreamPool``, body parts are passed on as the `ByteBuffer`s the parser produced,
/// and reads on either side are held while the other side cannot take more (see ``read(context:)``
/// and ``UpstreamHandler``), so no body is ever buffered whole.
///
/// The proxy answers `/v1/health` itself (any method, sidekick's health endpoint): 200 when a
/// site has a backend online, else 502.
///
/// Responses leave through a ``ResponseWriter``: HTTP/1 encoded here, HTTP/2 as parts for the
/// stream's codec.
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

    private let runtime: ProxyRuntime
    /// The table of the listener this connection came in on.
    private let tables: RoutingInForce
    private let clientProtocol: ClientProtocol
    /// How requests from this client are forwarded.
    private let forwarding: ForwardedRequest
    private let writer: any ResponseWriter
    /// ``writer`` when the client speaks HTTP/1: it also writes a stored head kept as bytes.
    private let http1Writer: HTTP1ResponseWriter?
    private var context: ChannelHandlerContext?
    /// The connection's event loop, whose clock is the only one this handler reads: the clock
    /// its timers run on (``ConnectionTimer``), so the deadlines it arms from a time it has
    /// read are on the same clock; and the times it reads are subtracted from one another
    /// (``ExchangeStateMachine/start``). On a real event loop this is `NIODeadline.now()`; on
    /// an `EmbeddedEventLoop` it is the loop's manual clock, which tests advance.
    private let eventLoop: any EventLoop
    /// The pool of this connection's event loop.
    private let pool: UpstreamPool
    private var machine: ExchangeStateMachine
    /// The backend connection of the exchange in flight, once connected.
    private var upstream: UpstreamHandler?
    /// When the first byte of the response arrived, kept only while tracing.
    private var firstByte: NIODeadline?
    private var readHeld = false
    /// Closes the connection when no request head arrives in time (header read or idle
    /// timeout), or when a lingering close has lasted long enough.
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
    /// Whether the reader holds bytes of a request not read whole yet, as of the last read: a
    /// head begun while the previous response was still on its way gets the header-read
    /// timeout, not the idle one, once that response is done.
    private var holdsPartOfARequest = false
    private var isDrainingQueue = false
    /// Set once the client has closed its side of the connection (with
    /// `allowRemoteHalfClosure`): no lingering is needed when the connection closes.
    private var clientInputClosed = false
    /// How long a connection closing after its response keeps reading and discarding what the
    /// client still sends, once the response is written and the proxy's side is shut: closing
    /// while unread bytes remain would reset the connection, and the client might lose the
    /// response (RFC 9112 9.6; nginx's lingering close).
    static let lingerTimeout = TimeAmount.seconds(5)
    /// Set while lingering; the wait timer then closes the connection.
    private var isLingering = false
    /// The cache's part in the request in flight (see ``ResponseCache``): the fill its response
    /// is teed into, whether the tee is on, the stored response to serve, the conditions a
    /// revalidation adds.
    private var fill: (any CacheFill)?
    private var teeing = false
    /// Whether the cache answered for the request in flight with anything to keep: every cache
    /// path is behind this flag, so a request without a cache copies no existential.
    private var usesCache = false
    private var stored: (any StoredResponse)?
    private var conditions: HTTPHeaders?
    /// Set while a stored body part waits for the client to become writable.
    private var storedBodyWaits = false
    /// Set while the fill cannot take more of the body: the backend is not read meanwhile.
    private var fillHolds = false
    private var storedBodyBytes = 0

    /// - Parameters:
    ///   - channel: the client's connection (or HTTP/2 stream), on whose event loop this is
    ///     created.
    ///   - scheme: `http` or `https`, for `X-Forwarded-Proto`.
    ///   - tables: the routing table of the listener (``ProxyRuntime/main`` for a configured one).
    init(runtime: ProxyRuntime, tables: RoutingInForce, channel: any Channel, scheme: String, clientProtocol: ClientProtocol) {
        self.runtime = runtime
        self.tables = tables
        self.clientProtocol = clientProtocol
        self.eventLoop = channel.eventLoop
        self.pool = runtime.pools.pool(for: channel.eventLoop)
        self.forwarding = ForwardedRequest(clientIP: channel.remoteAddress?.ipAddress, scheme: scheme)
        self.machine = ExchangeStateMachine(routing: tables.routing, isHTTP1: clientProtocol == .http1)
        switch clientProtocol {
        case .http1:
            let http1Writer = HTTP1ResponseWriter()
            self.http1Writer = http1Writer
            writer = http1Writer
        case .http2Stream:
            http1Writer = nil
            writer = HTTP2ResponseWriter()
        }
    }

    // MARK: Client side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writer.attach(context)
        downstreamIsWritable = context.channel.isWritable
        // The closures below refer to this handler strongly (a weakly referenced object pays
        // for every retain and release); handlerRemoved(context:) drops them.
        waitTimer = ConnectionTimer(eventLoop: context.eventLoop) { [self] in
            waitExpired()
        }
        responseTimer = ConnectionTimer(eventLoop: context.eventLoop) { [self] in
            if let failure = machine.responseTimedOut() {
                closeUpstream()
                perform(failure, now: eventLoop.now)
            }
        }
        waitTimer?.arm(in: machine.routing.limits.headerReadTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        waitTimer?.cancel()
        responseTimer?.cancel()
        closeUpstream()
        downstreamIsWritable = false
        writer.detach()
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
        guard context != nil else { return }
        readBroughtPart = true
        if case .head = part, machine.isIdle {
            waitTimer?.disarm()
            awaitingFirstByte = false
        }
        let now = eventLoop.now
        perform(machine.requestPart(part, routing: tables.routing(after:), now: now), part: part, now: now)
    }

    /// The end of an HTTP/2 stream's read burst; an HTTP/1 connection's is reported by
    /// ``RequestReader`` with ``readComplete()``.
    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
        context.fireChannelReadComplete()
    }

    /// The client's read burst ended: what it brought for the backend is sent.
    ///
    /// - Parameter holdsPartOfARequest: whether the reader keeps bytes of a request it could
    ///   not read whole yet (HTTP/1).
    func readComplete(holdsPartOfARequest: Bool = false) {
        self.holdsPartOfARequest = holdsPartOfARequest
        if let upstream {
            upstream.flush()
        } else if awaitingFirstByte, !readBroughtPart, machine.isIdle {
            awaitingFirstByte = false
            waitTimer?.arm(in: headerReadTimeout)
        }
        readBroughtPart = false
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        downstreamIsWritable = context.channel.isWritable && !fillHolds
        if downstreamIsWritable {
            upstream?.resumeReading()
            if storedBodyWaits {
                storedBodyWaits = false
                pumpStoredBody()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        waitTimer?.cancel()
        responseTimer?.cancel()
        closeUpstream()
        abandonCache()
        if let attempt = machine.clientClosed(), let backend = machine.backend {
            record(attempt, of: backend, now: eventLoop.now)
            trace(status: attempt.status)
        }
        context.fireChannelInactive()
    }

    /// A request that cannot be parsed (RFC 9112 smuggling defences: conflicting framing, bad
    /// chunk sizes, obs-fold, oversized headers) gets its error status and the connection
    /// closes; behind a request still being answered, that answer is finished first and the
    /// error answered in its turn. Other errors close the connection;
    /// ``channelInactive(context:)`` then releases the request in flight.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runtime.logger.debug("client connection error", metadata: ["error": "\(error)"])
        guard let parseError = error as? HTTP1ParseError else {
            context.close(promise: nil)
            return
        }
        switch machine.parseFailed(parseError) {
        case .none:
            break
        case .refuse(let error):
            refuse(error)
        case .abandon(let failure):
            responseTimer?.disarm()
            closeUpstream()
            perform(failure, now: eventLoop.now)
        case .close:
            context.close(promise: nil)
        }
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
    /// client rarely pipelines, and when it does its next request waits in the machine's queue.
    private var canReadFromClient: Bool {
        guard !machine.hasQueued else { return false }
        guard machine.isProxying, !machine.requestEnded else { return true }
        return upstream?.isWritable ?? false
    }

    private func resumeClientReads() {
        guard readHeld, canReadFromClient, let context else { return }
        readHeld = false
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client shut its side (a half-close, as `nc -N` does): see
            // ``ExchangeStateMachine/clientInputClosed()``.
            clientInputClosed = true
            if machine.clientInputClosed() == .close || isLingering {
                context.close(promise: nil)
            }
            return
        }
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if machine.quiesce() == .close {
            context.close(promise: nil)
        }
    }

    private func waitExpired() {
        guard machine.isIdle || isLingering else { return }
        machine.close()
        context?.close(promise: nil)
    }

    /// Waits for the next request on a kept-alive connection: `idle_timeout` until its first
    /// byte, then `header_read_timeout` for the rest of its head.
    private func awaitNextRequest(_ limits: ConnectionLimits, now: NIODeadline) {
        headerReadTimeout = limits.headerReadTimeout
        if holdsPartOfARequest {
            // Its first bytes came while the last response was on its way.
            waitTimer?.arm(in: limits.headerReadTimeout, now: now)
            awaitingFirstByte = false
        } else {
            waitTimer?.arm(in: limits.idleTimeout, now: now)
            awaitingFirstByte = clientProtocol == .http1
        }
    }

    /// Handles pipelined requests now that the connection is idle again.
    private func drainQueue(now: NIODeadline) {
        guard !isDrainingQueue, machine.hasQueued else { return }
        isDrainingQueue = true
        defer { isDrainingQueue = false }
        while let (part, action) = machine.nextQueued(routing: tables.routing(after:), now: now) {
            perform(action, part: part, now: now)
        }
    }

    // MARK: Performing the machine's actions

    /// Performs what the machine answered to `part`, or to an event that brought none.
    private func perform(_ action: ExchangeStateMachine.RequestAction, part: RequestParser.Part?, now: NIODeadline) {
        switch action {
        case .none:
            break
        case .connect:
            waitTimer?.disarm()
            awaitingFirstByte = false
            firstByte = nil
            dispatch(to: machine.backend!)
        case .forward(let armsResponseTimer):
            switch part {
            case .body(let buffer)?: upstream?.write(.body(.byteBuffer(buffer)))
            case .end(let trailers)?: upstream?.write(.end(trailers))
            case .head?, nil: break
            }
            if armsResponseTimer {
                responseTimer?.arm(in: machine.routing.upstream.responseTimeout)
            }
        case .answer(let keepAlive):
            sendLocal(machine.answer, keepAlive: keepAlive, now: now)
        case .refuse:
            refuse(machine.refusal)
        case .lookup:
            lookUp()
        case .serveStored:
            serveStored()
        case .storedResponseDone(let keepAlive):
            storedResponseDone(keepAlive: keepAlive, now: now)
        }
    }

    private func perform(_ failure: ExchangeStateMachine.Failure, now: NIODeadline) {
        switch failure {
        case .retry(let failed, let attempt):
            responseTimer?.disarm()
            record(attempt, of: failed, now: now)
            runtime.retries.increment()
            dispatch(to: machine.backend!)
        case .answer(let answer, let keepAlive, let attempt):
            responseTimer?.disarm()
            abandonCache()
            if let attempt, let backend = machine.backend {
                record(attempt, of: backend, now: now)
                trace(status: Int(answer.status.code))
            }
            sendLocal(answer, keepAlive: keepAlive, now: now, traced: attempt != nil)
        case .close(let attempt):
            abandonCache()
            if let backend = machine.backend {
                record(attempt, of: backend, now: now)
            }
            trace(status: attempt.status)
            context?.close(promise: nil)
        case .serveStored(let status, let attempt):
            // RFC 5861 4: the stored response stands in for the error.
            responseTimer?.disarm()
            if let attempt, let backend = machine.backend {
                record(attempt, of: backend, now: now)
            }
            fill?.revalidated(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status)))
            serveStored()
        }
    }

    /// Ends the exchange's attempt in `backend`'s counters, and takes the backend offline
    /// when the attempt says so.
    private func record(_ attempt: ExchangeStateMachine.AttemptEnd, of backend: Backend, now: NIODeadline) {
        backend.requestFinished(
            status: attempt.status,
            latency: now - machine.start,
            failed: attempt.failed,
            rx: machine.rxBytes,
            tx: machine.txBytes
        )
        if attempt.marksDown {
            runtime.proxyFailed(backend)
        }
    }

    /// Answers a request that cannot be parsed or routed with its error status, and closes.
    private func refuse(_ error: HTTP1ParseError) {
        let head = HTTPResponseHead(
            version: .http1_1,
            status: error.status,
            headers: ["connection": "close", "content-length": "0"]
        )
        writer.writeHead(head)
        writeEndAndClose(nil)
    }

    private func sendLocal(_ answer: ExchangeStateMachine.LocalAnswer, keepAlive: Bool, now: NIODeadline, traced: Bool = false) {
        let request = machine.request
        var headers = answer.headers
        headers.add(name: "content-length", value: String(answer.body.utf8.count))
        if !answer.body.isEmpty {
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if !request.version.supportsChunking {
            headers.add(name: "connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version.responseVersion, status: answer.status, headers: headers)
        if !traced, let filter = machine.routing.trace {
            let latency = now - machine.start
            let record = TraceRecord(
                time: TraceRecord.wallClockNow() - latency.nanoseconds,
                client: forwarding.clientIP ?? "",
                method: request.method.rawValue,
                path: Self.path(of: request.uri),
                query: Self.query(of: request.uri),
                status: Int(answer.status.code),
                rx: 0,
                tx: answer.body.utf8.count,
                latency: latency,
                timeToFirstByte: nil,
                backend: "",
                site: ""
            )
            runtime.trace(record, filter: filter, isInternal: answer.isInternal)
        }
        if keepAlive {
            awaitNextRequest(machine.routing.limits, now: now)
        }
        writer.writeHead(head)
        if !answer.body.isEmpty, !request.isHEAD {
            writer.writeBody(ByteBuffer(string: answer.body))
        }
        machine.releaseRequest()
        if keepAlive {
            writer.writeEnd(nil, promise: nil)
            drainQueue(now: now)
        } else {
            writeEndAndClose(nil)
        }
        resumeClientReads()
    }

    /// Sends the request to `backend` on a pooled or new connection.
    private func dispatch(to backend: Backend) {
        backend.requestStarted()
        if let idle = pool.takeIdle(backend) {
            connected(serial: machine.serial, backend: backend, result: .success(idle))
        } else {
            pool.connect(backend, settings: machine.routing.upstream) { [self, serial = machine.serial] result in
                connected(serial: serial, backend: backend, result: result)
            }
        }
    }

    /// A connection to `backend` for the request numbered `serial` (see
    /// ``ExchangeStateMachine/serial``).
    private func connected(serial: Int, backend: Backend, result: Result<UpstreamHandler, any Error>) {
        let handler: UpstreamHandler
        switch result {
        case .failure(let error):
            if let failure = machine.connectionFailed(serial: serial, backend: backend) {
                runtime.logger.debug("backend connection failed", metadata: ["backend": "\(backend.endpoint)", "error": "\(error)"])
                perform(failure, now: eventLoop.now)
            }
            return
        case .success(let connection):
            handler = connection
        }
        switch machine.connected(serial: serial, backend: backend, reused: handler.requestCount > 0) {
        case .returnUnused:
            pool.release(handler, settings: machine.routing.upstream)
        case .send(let hasPending, let armsResponseTimer):
            upstream = handler
            handler.requestCount += 1
            handler.delegate = self
            if usesCache, let conditions {
                handler.writeHead(machine.request, forwarding: forwarding, adding: conditions)
            } else {
                handler.writeHead(machine.request, forwarding: forwarding)
            }
            if hasPending {
                for part in machine.takePending() {
                    handler.write(part)
                }
            }
            handler.flush()
            if armsResponseTimer {
                responseTimer?.arm(in: machine.routing.upstream.responseTimeout)
            }
            resumeClientReads()
        }
    }

    private func closeUpstream() {
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
    }

    // MARK: Backend side

    /// The client channel's writability, kept up to date from its events (see
    /// ``channelWritabilityChanged(context:)``): it is consulted on every read of the backend's
    /// connection.
    private(set) var downstreamIsWritable = false

    func upstreamReceived(_ part: ResponseParser.Part) {
        switch part {
        case .head(let head):
            switch machine.responseHead(head) {
            case .none:
                break
            case .writeInterim:
                writer.writeInterim(head, request: machine.request)
            case .revalidated:
                var refreshed = head.httpResponseHead
                refreshed.headers.removeHopByHopFields()
                fill?.revalidated(refreshed)
                fill = nil
            case .write(let keepAlive):
                responseTimer?.disarm()
                if machine.routing.trace != nil {
                    firstByte = eventLoop.now
                }
                if usesCache, let fill {
                    var teed = head.httpResponseHead
                    teed.headers.removeHopByHopFields()
                    let start = fill.head(teed)
                    teeing = start.stores
                    if start.fields.isEmpty {
                        writer.writeForwardedHead(head, request: machine.request, keepAlive: keepAlive)
                    } else {
                        // The teed head, without its hop-by-hop fields, is what the client is sent apart from framing.
                        var annotated = teed
                        for (name, value) in start.fields {
                            annotated.headers.replaceOrAdd(name: name, value: value)
                        }
                        writer.writeForwardedHead(annotated, request: machine.request, keepAlive: keepAlive)
                    }
                } else {
                    writer.writeForwardedHead(head, request: machine.request, keepAlive: keepAlive)
                }
            case .switchedUnasked:
                upstream?.recordUnaskedSwitch()
                closeUpstream()
                perform(machine.failAfterUnaskedSwitch(), now: eventLoop.now)
            }
        case .body(let buffer):
            if machine.responseBody(byteCount: buffer.readableBytes) {
                writer.writeBody(buffer)
                if teeing, let wait = fill!.body(buffer) {
                    holdBackendForFill(until: wait)
                }
            }
        case .end(let trailers):
            switch machine.responseEnd() {
            case .none:
                break
            case .finish(let finish):
                finishExchange(finish, trailers: trailers)
            case .startTunnel(let attempt):
                startTunnel(attempt)
            }
        }
    }

    private func finishExchange(_ finish: ExchangeStateMachine.Finish, trailers: HTTPHeaders?) {
        let now = eventLoop.now
        if let upstream {
            self.upstream = nil
            if finish.releasesUpstream {
                pool.release(upstream, settings: machine.routing.upstream, now: now, settle: finish.settles ? UpstreamPool.bodilessSettle : nil)
            } else {
                upstream.close()
            }
        }
        if let backend = machine.backend {
            record(finish.attempt, of: backend, now: now)
        }
        if finish.servesStored {
            serveStored()
            return
        }
        if usesCache {
            if teeing { fill?.end(trailers) }
            forgetCache()
        }
        trace(status: finish.attempt.status)
        machine.releaseRequest()
        if finish.keepAlive {
            awaitNextRequest(machine.routing.limits, now: now)
            writer.writeEnd(trailers, promise: nil)
            drainQueue(now: now)
        } else {
            writeEndAndClose(trailers)
        }
        resumeClientReads()
    }

    func upstreamReadComplete() {
        if writer.hasUnflushedWrites {
            writer.flush()
        }
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable {
            resumeClientReads()
        }
    }

    func upstreamClosed(error: (any Error)?) {
        upstream = nil
        let backend = machine.backend
        guard let failure = machine.upstreamClosed() else { return }
        if !machine.responseStarted {
            runtime.logger.debug(
                "backend closed before responding",
                metadata: ["backend": "\(backend?.endpoint.description ?? "")", "error": "\(error.map { "\($0)" } ?? "eof")"]
            )
        }
        perform(failure, now: eventLoop.now)
    }

    // MARK: The response cache

    /// Asks the routing table's cache about the request; its answer comes back on this loop.
    private func lookUp() {
        guard let cache = machine.routing.cache else { return }
        let request = machine.request
        var headers = HTTPHeaders()
        request.withBytes { _, lines in
            HeadFields.forEachLine(of: lines) { name, start, end in
                let field = ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: lines[start..<end - 2]))
                headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: field.value, as: UTF8.self))
            }
        }
        let serial = machine.serial
        switch cache.answer(CacheRequest(method: request.method, target: request.uri, headers: headers, scheme: forwarding.scheme), on: eventLoop) {
        case .now(let lookup):
            cacheAnswered(serial: serial, .success(lookup))
        case .later(let future):
            future.assumeIsolated().whenComplete { [self] result in
                cacheAnswered(serial: serial, result)
            }
        }
    }

    private func cacheAnswered(serial: Int, _ result: Result<CacheLookup, any Error>) {
        guard context != nil else { return }
        let answer: ExchangeStateMachine.CacheAnswer
        switch result {
        case .success(.bypass):
            answer = .proxy
        case .success(.miss(let fill)):
            self.fill = fill
            usesCache = true
            answer = .proxy
        case .success(.hit(let stored)):
            self.stored = stored
            usesCache = true
            answer = .serve
        case .success(.revalidate(let stored, let conditions, let fill)):
            self.stored = stored
            self.conditions = conditions
            self.fill = fill
            usesCache = true
            answer = .revalidate(servesOnError: stored.servesOnError)
        case .success(.hitRevalidatingInBackground(let stored, let conditions, let fill)):
            self.stored = stored
            usesCache = true
            answer = .serve
            revalidateInBackground(conditions: conditions, fill: fill)
        case .failure(let error):
            // A cache that fails never fails the request.
            runtime.logger.debug("response cache lookup failed", metadata: ["error": "\(error)"])
            answer = .proxy
        }
        let now = eventLoop.now
        let action = machine.cacheAnswered(serial: serial, answer)
        if case .none = action {
            // The request was answered or abandoned meanwhile.
            abandonCache()
        }
        perform(action, part: nil, now: now)
    }

    /// Sends the request on its own to revalidate the stale response being served (RFC 5861
    /// 3); a request with a body is not sent twice, so its fill is let go.
    private func revalidateInBackground(conditions: HTTPHeaders, fill: any CacheFill) {
        let request = machine.request
        guard !request.hasBody else {
            fill.abort()
            return
        }
        BackgroundRevalidation(
            runtime: runtime,
            pool: pool,
            routing: machine.routing,
            site: machine.routedSite,
            request: request,
            forwarding: forwarding,
            conditions: conditions,
            fill: fill,
            eventLoop: eventLoop
        ).start()
    }

    /// Serves the stored response: its head with the client connection's framing, then its
    /// body part by part as the client takes it.
    private func serveStored() {
        guard let stored else {
            context?.close(promise: nil)
            return
        }
        fill = nil
        teeing = false
        conditions = nil
        storedBodyBytes = 0
        let bodiless: Bool
        if let http1Writer, let bytes = stored.headBytes {
            // A plain hit's head, kept as bytes with its hop-by-hop fields already left out; it
            // has a `Content-Length`, so only the exchange decides whether the connection stays.
            let keepAlive = machine.storedResponseStarted(status: Int(bytes.status.code))
            bodiless = bytes.status == .notModified || bytes.status == .noContent
            let connection: StaticString? = !keepAlive ? "close" : machine.request.version.supportsChunking ? nil : "keep-alive"
            http1Writer.writeStoredHead(bytes, version: machine.request.version.responseVersion, connection: connection)
        } else {
            var head = stored.head
            let known = machine.storedResponseStarted(status: Int(head.status.code))
            head.headers.removeHopByHopFields()
            head.version = machine.request.version.responseVersion
            // Without a length the body can only end with the connection, unless it has none by
            // rule (RFC 9112 6.3).
            bodiless = head.status == .notModified || head.status == .noContent
            let keepAlive = known && (bodiless || head.headers.contains(name: "content-length"))
            if !keepAlive {
                head.headers.replaceOrAdd(name: "connection", value: "close")
            } else if !machine.request.version.supportsChunking {
                head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
            }
            writer.writeHead(head)
        }
        if machine.request.isHEAD || bodiless {
            finishStored()
        } else if let body = stored.takeBodyAtHand() {
            storedBodyBytes = body.readableBytes
            writer.writeBody(body)
            finishStored()
        } else {
            pumpStoredBody()
        }
    }

    private func pumpStoredBody() {
        guard let stored, case .servingStored = machine.phase else { return }
        stored.nextBodyPart(on: eventLoop).assumeIsolated().whenComplete { [self] result in
            guard context != nil, case .servingStored = machine.phase else { return }
            switch result {
            case .success(let part?):
                storedBodyBytes += part.readableBytes
                writer.writeBody(part)
                writer.flush()
                if downstreamIsWritable {
                    pumpStoredBody()
                } else {
                    storedBodyWaits = true
                }
            case .success(nil):
                finishStored()
            case .failure(let error):
                // Mid-body nothing can be said to the client but a truncated message.
                runtime.logger.debug("reading a stored response failed", metadata: ["error": "\(error)"])
                machine.close()
                context?.close(promise: nil)
            }
        }
    }

    private func finishStored() {
        stored = nil
        // The request's end may not have come yet (the store can answer at once): the
        // exchange is done when it comes.
        if let keepAlive = machine.storedResponseEnded(byteCount: storedBodyBytes) {
            storedResponseDone(keepAlive: keepAlive, now: eventLoop.now)
        } else {
            writer.flush()
        }
    }

    private func storedResponseDone(keepAlive: Bool, now: NIODeadline) {
        forgetCache()
        trace(status: machine.status)
        machine.releaseRequest()
        if keepAlive {
            awaitNextRequest(machine.routing.limits, now: now)
            writer.writeEnd(nil, promise: nil)
            drainQueue(now: now)
        } else {
            writeEndAndClose(nil)
        }
        resumeClientReads()
    }

    /// The request in flight will not end with a whole response teed: the fill drops it.
    private func abandonCache() {
        guard usesCache else { return }
        if let fill {
            fill.abort()
        }
        forgetCache()
    }

    /// Stops reading the backend until the fill can take more (``CacheFill/body(_:)``).
    private func holdBackendForFill(until ready: EventLoopFuture<Void>) {
        fillHolds = true
        downstreamIsWritable = false
        ready.assumeIsolated().whenComplete { [self] _ in
            fillHolds = false
            downstreamIsWritable = context?.channel.isWritable ?? false
            if downstreamIsWritable {
                upstream?.resumeReading()
            }
        }
    }

    private func forgetCache() {
        usesCache = false
        fill = nil
        teeing = false
        stored = nil
        conditions = nil
        storedBodyWaits = false
    }

    // MARK: Upgrade

    /// After a `101 Switching Protocols` (or a 2xx to `CONNECT`) both connections carry raw
    /// bytes: the HTTP handlers leave both pipelines and a ``TunnelHandler`` pair copies bytes
    /// each way. The readers are removed last and hand on what they had read past the HTTP
    /// message.
    private func startTunnel(_ attempt: ExchangeStateMachine.AttemptEnd) {
        guard let context, let upstream, let upstreamChannel = upstream.channel else {
            context?.close(promise: nil)
            return
        }
        self.upstream = nil
        upstream.delegate = nil
        if let backend = machine.backend {
            record(attempt, of: backend, now: eventLoop.now)
        }
        trace(status: attempt.status)
        waitTimer?.cancel()
        responseTimer?.cancel()
        writer.flush()
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

    // MARK: Closing

    /// Ends the response and closes the connection once it is written: on HTTP/1 by a
    /// lingering close (see ``lingerTimeout``).
    private func writeEndAndClose(_ trailers: HTTPHeaders?) {
        guard let context else { return }
        let written = context.eventLoop.makePromise(of: Void.self)
        writer.writeEnd(trailers, promise: written)
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
        machine.close()
        isLingering = true
        waitTimer?.arm(in: Self.lingerTimeout)
        context.shutOutput()
        resumeClientReads()
    }

    // MARK: Trace

    private func trace(status: Int) {
        guard let filter = machine.routing.trace else { return }
        let request = machine.request
        let latency = eventLoop.now - machine.start
        let record = TraceRecord(
            time: TraceRecord.wallClockNow() - latency.nanoseconds,
            client: forwarding.clientIP ?? "",
            method: request.method.rawValue,
            path: Self.path(of: request.uri),
            query: Self.query(of: request.uri),
            status: status,
            rx: machine.rxBytes,
            tx: machine.txBytes,
            latency: latency,
            timeToFirstByte: firstByte.map { $0 - machine.start },
            backend: machine.backend?.endpoint.description ?? "",
            site: machine.backend?.siteName ?? ""
        )
        runtime.trace(record, filter: filter, isInternal: false)
    }

    static func path(of uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
    }

    static func query(of uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? ""
    }
}
