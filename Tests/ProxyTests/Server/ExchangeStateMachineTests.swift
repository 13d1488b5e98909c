import CoreMetrics
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// The exchange state machine driven event by event, as ``ProxyHandler`` drives it, with no
/// channel, socket or clock: including the paths only end-to-end tests reached before
/// (retries, pipelining, a client gone mid-body, timeouts).
@Suite struct ExchangeStateMachineTests {
    private static let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private static func backend(_ port: Int, online: Bool = true) -> Backend {
        let endpoint = BackendEndpoint(scheme: .http, host: "127.0.0.1", port: port)
        let metrics = BackendMetrics(site: "site1", backend: endpoint.description, factory: NOOPMetricsHandler.instance)
        let backend = Backend(key: BackendKey(site: "site1", endpoint: endpoint), metrics: metrics, now: now)
        backend.setOnline(online, now: now)
        return backend
    }

    private static func routing(_ backends: [Backend], retries: Int = 2, allowsConnect: Bool = false) -> Routing {
        Routing(
            sites: [Routing.Site(name: "site1", backends: backends)],
            policy: .roundRobin,
            retryAttempts: retries,
            upstream: UpstreamSettings(connectTimeout: .seconds(1), idleTimeout: .seconds(15), maxIdlePerBackend: 4, responseTimeout: .seconds(5)),
            retryAfterSeconds: 5,
            trace: nil,
            limits: ConnectionLimits(maxHeaderBytes: 65_536, headerReadTimeout: .seconds(30), idleTimeout: .seconds(120), maxConnections: 10),
            allowsConnect: allowsConnect
        )
    }

    /// The parts a client's bytes parse into.
    private static func request(_ text: String) throws -> [RequestParser.Part] {
        var parser = RequestParser(maxHeadBytes: 65_536)
        var buffer = ByteBuffer(string: text)
        var parts: [RequestParser.Part] = []
        while let part = try parser.next(from: &buffer) { parts.append(part) }
        return parts
    }

    private static func response(_ text: String, answeringHead: Bool = false) throws -> [ResponseParser.Part] {
        var parser = ResponseParser()
        parser.answersHead = answeringHead
        var buffer = ByteBuffer(string: text)
        var parts: [ResponseParser.Part] = []
        while let part = try parser.next(from: &buffer) { parts.append(part) }
        return parts
    }

    /// A machine over `routing`, fed every part of `text`; the actions it answered.
    private static func feed(_ machine: inout ExchangeStateMachine, _ text: String, routing: Routing) throws -> [ExchangeStateMachine.RequestAction] {
        try request(text).map { machine.requestPart($0, routing: { _ in routing }, now: now) }
    }

    /// Runs a whole response through the machine; the end's action.
    private static func respond(_ machine: inout ExchangeStateMachine, _ text: String, answeringHead: Bool = false) throws -> ExchangeStateMachine.ResponseEndAction? {
        var end: ExchangeStateMachine.ResponseEndAction?
        for part in try response(text, answeringHead: answeringHead) {
            switch part {
            case .head(let head): _ = machine.responseHead(head)
            case .body(let body): _ = machine.responseBody(byteCount: body.readableBytes)
            case .end: end = machine.responseEnd()
            }
        }
        return end
    }

    @Test func getIsProxiedAndTheConnectionsStayOpen() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        let actions = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        guard case .connect = actions[0], case .none = actions[1] else {
            Issue.record("expected connect, then the end held back: \(actions)")
            return
        }
        #expect(machine.backend === a)
        // The end arrived before the connection: it is sent with the head, and arms the timer.
        guard case .send(hasPending: true, armsResponseTimer: true) = machine.connected(serial: machine.serial, backend: a, reused: false) else {
            Issue.record("expected the pending end to be sent")
            return
        }
        #expect(machine.takePending().count == 1)
        let head = try #require(try Self.response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n").first)
        guard case .head(let responseHead) = head, case .write(keepAlive: true) = machine.responseHead(responseHead) else {
            Issue.record("expected the head written with keep-alive")
            return
        }
        let passesBody = machine.responseBody(byteCount: 2)
        #expect(passesBody)
        guard case .finish(let finish) = machine.responseEnd() else {
            Issue.record("expected the exchange to finish")
            return
        }
        #expect(finish.releasesUpstream && !finish.settles && finish.keepAlive)
        #expect(finish.attempt.status == 200 && !finish.attempt.failed)
        #expect(machine.isIdle)
        #expect(machine.txBytes == 2)
    }

    @Test func failedConnectionIsRetriedOnAnotherBackend() throws {
        let a = Self.backend(1)
        let b = Self.backend(2)
        let routing = Self.routing([a, b])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        let first = try #require(machine.backend)
        guard case .retry(let failed, let attempt) = machine.connectionFailed(serial: machine.serial, backend: first) else {
            Issue.record("expected a retry")
            return
        }
        #expect(failed === first)
        #expect(attempt.status == 502 && attempt.failed && attempt.marksDown)
        let second = try #require(machine.backend)
        #expect(second !== first)
        // A late connection for the failed attempt is not used.
        guard case .returnUnused = machine.connected(serial: machine.serial, backend: first, reused: false) else {
            Issue.record("a connection to the failed backend must not be used")
            return
        }
        guard case .send(hasPending: true, armsResponseTimer: true) = machine.connected(serial: machine.serial, backend: second, reused: false) else {
            Issue.record("expected the request replayed from its start")
            return
        }
    }

    @Test func retriesStopAtTheLimitAndTheClientGets502() throws {
        let routing = Self.routing([Self.backend(1), Self.backend(2), Self.backend(3)], retries: 1)
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        guard case .retry = machine.connectionFailed(serial: machine.serial, backend: machine.backend!) else {
            Issue.record("expected one retry")
            return
        }
        guard case .answer(let answer, keepAlive: true, let attempt?) = machine.connectionFailed(serial: machine.serial, backend: machine.backend!) else {
            Issue.record("expected 502 after the last attempt")
            return
        }
        #expect(answer.status == .badGateway)
        #expect(attempt.marksDown)
        #expect(machine.isIdle)
    }

    @Test func requestWithABodyIsNotRetried() throws {
        let routing = Self.routing([Self.backend(1), Self.backend(2)])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhel", routing: routing)
        #expect(!machine.isRetryable)
        guard case .answer(let answer, keepAlive: false, _) = machine.connectionFailed(serial: machine.serial, backend: machine.backend!) else {
            Issue.record("expected 502 and a close: the body was not read to its end")
            return
        }
        #expect(answer.status == .badGateway)
    }

    /// RFC 9112 9.3.1: a kept-alive connection the backend closed says nothing of its health.
    @Test func staleKeptAliveConnectionIsRetriedWithoutTakingTheBackendDown() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a], retries: 0)
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        _ = machine.connected(serial: machine.serial, backend: a, reused: true)
        guard case .retry(_, let attempt) = machine.upstreamClosed() else {
            Issue.record("expected a retry even with no retries configured")
            return
        }
        #expect(!attempt.marksDown)
        #expect(machine.backend === a)
    }

    @Test func pipelinedRequestsWaitAndAreTakenInOrder() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        let actions = try Self.feed(&machine, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        #expect(actions.count == 4)
        #expect(machine.hasQueued)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        _ = machine.takePending()
        let first = machine.serial
        guard case .finish(let finish) = try Self.respond(&machine, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") else {
            Issue.record("expected the first exchange to finish")
            return
        }
        #expect(finish.keepAlive)
        let queued = machine.nextQueued(routing: { _ in routing }, now: Self.now)
        let next = try #require(queued)
        guard case .head(let head) = next.0, case .connect = next.1 else {
            Issue.record("expected the second request to start")
            return
        }
        #expect(head.uri == "/2")
        #expect(machine.serial == first + 1)
        // Its end waits for the connection, so nothing else is to be done now.
        let rest = machine.nextQueued(routing: { _ in routing }, now: Self.now)
        #expect(rest == nil)
        #expect(!machine.hasQueued)
    }

    @Test func malformedPipelinedRequestIsRefusedInItsTurn() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        guard case .none = machine.parseFailed(HTTP1ParseError(description: "bad")) else {
            Issue.record("the error must wait for the answer in progress")
            return
        }
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        _ = try Self.respond(&machine, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let queued = machine.nextQueued(routing: { _ in routing }, now: Self.now)
        guard case .refuse = try #require(queued).1 else {
            Issue.record("expected the malformed request refused")
            return
        }
        #expect(machine.refusal.description == "bad")
        guard case .closing = machine.phase else {
            Issue.record("the connection closes after the refusal")
            return
        }
    }

    @Test func clientGoneMidBodyEndsTheAttemptAs499() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n", routing: routing)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        guard case .forward(armsResponseTimer: false) = machine.requestPart(.body(ByteBuffer(string: "hello")), routing: { _ in routing }, now: Self.now) else {
            Issue.record("expected the body part forwarded")
            return
        }
        #expect(machine.rxBytes == 5)
        let closed = machine.clientClosed()
        let attempt = try #require(closed)
        #expect(attempt.status == 499 && !attempt.failed && !attempt.marksDown)
        let again = machine.clientClosed()
        #expect(again == nil)
    }

    @Test func responseTimeoutAnswers504OnlyOnceTheRequestIsSent() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n", routing: routing)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        let early = machine.responseTimedOut()
        #expect(early == nil)
        guard case .forward(armsResponseTimer: true) = machine.requestPart(.end(nil), routing: { _ in routing }, now: Self.now) else {
            Issue.record("the request's end arms the response timer")
            return
        }
        guard case .answer(let answer, keepAlive: true, let attempt?) = machine.responseTimedOut() else {
            Issue.record("expected 504")
            return
        }
        #expect(answer.status == .gatewayTimeout)
        #expect(attempt.status == 504 && attempt.failed)
    }

    @Test func earlyResponseClosesBothConnections() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n", routing: routing)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        guard case .finish(let finish) = try Self.respond(&machine, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n") else {
            Issue.record("expected the exchange to finish")
            return
        }
        // The rest of the body is still on both connections.
        #expect(!finish.releasesUpstream && !finish.keepAlive)
    }

    @Test(arguments: ["HEAD /x", "GET /no-content", "GET /not-modified"])
    func bodilessResponsesSettleInThePool(requestLine: String) throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "\(requestLine) HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        let status = requestLine.hasSuffix("no-content") ? "204 No Content" : requestLine.hasSuffix("not-modified") ? "304 Not Modified" : "200 OK"
        let end = try Self.respond(&machine, "HTTP/1.1 \(status)\r\nContent-Length: 3\r\n\r\n", answeringHead: requestLine.hasPrefix("HEAD"))
        guard case .finish(let finish) = end else {
            Issue.record("expected the exchange to finish")
            return
        }
        #expect(finish.releasesUpstream && finish.settles)
    }

    @Test func connectIsAnsweredLocallyUnlessAllowed() throws {
        let a = Self.backend(1)
        for (allowed, isHTTP1) in [(false, true), (true, false)] {
            let routing = Self.routing([a], allowsConnect: allowed)
            var machine = ExchangeStateMachine(routing: routing, isHTTP1: isHTTP1)
            let actions = try Self.feed(&machine, "CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n", routing: routing)
            // An HTTP/1 connection closes after it (what follows CONNECT is not HTTP); an HTTP/2
            // stream just ends with its response.
            guard case .answer(let keepAlive) = actions.last, keepAlive == !isHTTP1 else {
                Issue.record("expected a local answer: \(actions)")
                continue
            }
            #expect(machine.answer.status == .methodNotAllowed)
            #expect(machine.answer.headers["allow"] == [ExchangeStateMachine.allowedMethods])
        }
    }

    /// RFC 9110 9.3.6: a 2xx to CONNECT makes a tunnel; any other answer ends the connection.
    @Test func allowedConnectIsATunnelAndNeverPooled() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a], allowsConnect: true)
        for (status, tunnels) in [("200 Connection established", true), ("403 Forbidden", false)] {
            var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
            _ = try Self.feed(&machine, "CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n", routing: routing)
            _ = machine.connected(serial: machine.serial, backend: a, reused: false)
            var parser = ResponseParser()
            parser.answersConnect = true
            var buffer = ByteBuffer(string: "HTTP/1.1 \(status)\r\nContent-Length: 0\r\n\r\n")
            var end: ExchangeStateMachine.ResponseEndAction?
            while let part = try parser.next(from: &buffer) {
                switch part {
                case .head(let head): _ = machine.responseHead(head)
                case .body: break
                case .end: end = machine.responseEnd()
                }
            }
            switch end {
            case .startTunnel?: #expect(tunnels)
            case .finish(let finish)?: #expect(!tunnels && !finish.releasesUpstream && !finish.keepAlive)
            default: Issue.record("expected the response to end")
            }
        }
    }

    @Test func unaskedProtocolSwitchIsA502() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        guard case .head(let head) = try #require(try Self.response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").first),
            case .switchedUnasked = machine.responseHead(head),
            case .answer(let answer, _, let attempt?) = machine.failAfterUnaskedSwitch()
        else {
            Issue.record("expected the switch refused")
            return
        }
        #expect(answer.status == .badGateway && attempt.failed)
    }

    @Test func halfClosedClientIsAnsweredThenClosed() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a])
        var idle = ExchangeStateMachine(routing: routing, isHTTP1: true)
        let windDown = idle.clientInputClosed()
        #expect(windDown == .close)

        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        let busy = machine.clientInputClosed()
        #expect(busy == ExchangeStateMachine.WindDown.none)
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        guard case .finish(let finish) = try Self.respond(&machine, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") else {
            Issue.record("expected the exchange to finish")
            return
        }
        #expect(finish.releasesUpstream && !finish.keepAlive)
    }

    @Test func healthEndpointAndNoBackendAreAnsweredLocally() throws {
        let down = Self.backend(1, online: false)
        let routing = Self.routing([down])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        guard case .answer(keepAlive: true) = try Self.feed(&machine, "GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing).last else {
            Issue.record("expected the health answer")
            return
        }
        #expect(machine.answer.status == .badGateway && machine.answer.isInternal)
        guard case .answer(keepAlive: true) = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing).last else {
            Issue.record("expected the no-backend answer")
            return
        }
        #expect(machine.answer.headers["retry-after"] == ["5"])
    }

    @Test func requestWithoutHostIsRefused() throws {
        let routing = Self.routing([Self.backend(1)])
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        guard case .refuse = try Self.feed(&machine, "GET /x HTTP/1.1\r\n\r\n", routing: routing).first else {
            Issue.record("expected a refusal")
            return
        }
        #expect(machine.refusal.description == "HTTP/1.1 request without Host")
    }

    // MARK: The response cache

    private struct NoCache: ResponseCache {
        func lookup(_ request: CacheRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup> {
            eventLoop.makeSucceededFuture(.bypass)
        }
    }

    @Test func getIsLookedUpBeforeItIsRouted() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a]).replacingCache(NoCache())
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        let actions = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        guard case .lookup = actions[0], case .none = actions[1] else {
            Issue.record("expected a lookup, the end held back: \(actions)")
            return
        }
        #expect(machine.backend == nil)
        // A late answer for an earlier request is ignored.
        guard case .none = machine.cacheAnswered(serial: machine.serial - 1, .proxy) else {
            Issue.record("an answer for another request must be ignored")
            return
        }
        guard case .connect = machine.cacheAnswered(serial: machine.serial, .proxy) else {
            Issue.record("a miss is routed")
            return
        }
        guard case .send(hasPending: true, armsResponseTimer: true) = machine.connected(serial: machine.serial, backend: a, reused: false) else {
            Issue.record("the held end goes with the head")
            return
        }
        // Unsafe methods are offered too, so that a success can invalidate (RFC 9111 4.4).
        _ = machine.takePending()
        _ = try Self.respond(&machine, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        guard case .lookup = try Self.feed(&machine, "DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing).first else {
            Issue.record("DELETE is offered to the cache")
            return
        }
    }

    @Test func hitIsServedAndWaitsForTheRequestsEnd() throws {
        let routing = Self.routing([Self.backend(1)]).replacingCache(NoCache())
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        let parts = try Self.request("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
        guard case .lookup = machine.requestPart(parts[0], routing: { _ in routing }, now: Self.now),
            case .serveStored = machine.cacheAnswered(serial: machine.serial, .serve)
        else {
            Issue.record("expected the stored response served")
            return
        }
        let mayKeepAlive = machine.storedResponseStarted(status: 200)
        #expect(mayKeepAlive)
        let ended = machine.storedResponseEnded(byteCount: 5)
        #expect(ended == nil, "the request's end has not come yet")
        guard case .storedResponseDone(keepAlive: true) = machine.requestPart(parts[1], routing: { _ in routing }, now: Self.now) else {
            Issue.record("the exchange ends with the request's end")
            return
        }
        #expect(machine.isIdle)
        #expect(machine.txBytes == 5 && machine.status == 200)
    }

    /// RFC 9111 4.3.3: a 304 to a revalidation is not passed on; the stored response is.
    @Test func revalidationsNotModifiedServesTheStoredResponse() throws {
        let a = Self.backend(1)
        let routing = Self.routing([a]).replacingCache(NoCache())
        var machine = ExchangeStateMachine(routing: routing, isHTTP1: true)
        _ = try Self.feed(&machine, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", routing: routing)
        guard case .connect = machine.cacheAnswered(serial: machine.serial, .revalidate(servesOnError: false)) else {
            Issue.record("a revalidation is routed")
            return
        }
        _ = machine.connected(serial: machine.serial, backend: a, reused: false)
        guard case .head(let head) = try #require(try Self.response("HTTP/1.1 304 Not Modified\r\n\r\n").first),
            case .revalidated = machine.responseHead(head),
            case .finish(let finish) = machine.responseEnd()
        else {
            Issue.record("expected the 304 taken as a revalidation")
            return
        }
        #expect(finish.servesStored && finish.releasesUpstream && finish.settles)
        guard case .servingStored = machine.phase else {
            Issue.record("the stored response is served next")
            return
        }
        let mayKeepAlive = machine.storedResponseStarted(status: 200)
        let ended = machine.storedResponseEnded(byteCount: 5)
        #expect(mayKeepAlive && ended == true)
    }
}
