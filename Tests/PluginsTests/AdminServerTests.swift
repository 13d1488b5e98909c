import Foundation
import Logging
import NIOCore
import NIOPosix
import Plugins
import Synchronization
import Testing

/// The admin listener over a real loopback socket, on an ephemeral port.
@Suite(.timeLimit(.minutes(1))) struct AdminServerTests {
    /// A running server, its routes, its draining flag and what it logged.
    struct Harness {
        let server: AdminServer
        let routes: AdminRouteTable
        let healthy: Flag
        let log: LogRecord
        var port: Int { server.localAddress!.port! }
    }

    func withServer(_ body: (Harness) async throws -> Void) async throws {
        let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let healthy = Flag()
        let routes = AdminRouteTable()
        let log = LogRecord()
        let work = AdminWork()
        let server = try await AdminServer.bind(
            host: "127.0.0.1",
            port: 0,
            endpoints: .init(
                metrics: { "# TYPE test_total counter\ntest_total 3\n" },
                healthy: { healthy.value },
                status: { ["node": "n1", "roles": [:]] },
                routes: routes
            ),
            eventLoopGroup: eventLoopGroup,
            work: work,
            logger: Logger(label: "test") { _ in log.handler() }
        )
        // The requests' work runs under this scope, as it does under the admin service.
        let outcome: Result<Void, any Error> = await withDiscardingTaskGroup { group in
            group.addTask { await work.run() }
            let outcome: Result<Void, any Error>
            do {
                try await body(Harness(server: server, routes: routes, healthy: healthy, log: log))
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            await server.stop()
            work.finish()
            return outcome
        }
        try await eventLoopGroup.shutdownGracefully()
        try outcome.get()
    }

    func json(_ response: HTTPExchange) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(response.body.utf8))
    }

    @Test func metricsInPrometheusTextFormat() async throws {
        try await withServer { harness in
            let response = try await HTTPExchange.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.body.contains("test_total 3"))
        }
    }

    @Test func healthzFollowsDraining() async throws {
        try await withServer { harness in
            var response = try await HTTPExchange.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(response.status == 200)
            harness.healthy.value = false
            response = try await HTTPExchange.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(response.status == 503)
        }
    }

    @Test func statusIsJSON() async throws {
        try await withServer { harness in
            let response = try await HTTPExchange.send("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(try json(response)["node"] == "n1")
        }
    }

    @Test func headAnswersLikeGetWithoutBody() async throws {
        try await withServer { harness in
            let response = try await HTTPExchange.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port, head: true)
            #expect(response.status == 200)
            #expect(response.body == "")
            #expect(Int(response.header("content-length") ?? "") == "# TYPE test_total counter\ntest_total 3\n".utf8.count)
        }
    }

    @Test func otherMethodsAre405AndUnknownPaths404() async throws {
        try await withServer { harness in
            for path in ["/metrics", "/healthz", "/v1/status"] {
                let response = try await HTTPExchange.send("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", port: harness.port)
                #expect(response.status == 405, "\(path)")
                #expect(response.header("allow") == "GET, HEAD")
            }
            for path in ["/", "/nope", "/v1/", "/v1/proxy/anything", "/metrics/extra"] {
                let response = try await HTTPExchange.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
                #expect(response.status == 404, "\(path)")
            }
        }
    }

    @Test func roleRoutesUnderV1() async throws {
        try await withServer { harness in
            harness.routes.routes(for: "gossip").add(.POST, "/join") { request in
                .json(["joined": .string(String(buffer: request.body)), "query": .string(request.query ?? "")])
            }
            let response = try await HTTPExchange.send("POST /v1/gossip/join?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nnode2", port: harness.port)
            #expect(response.status == 200)
            let document = try json(response)
            #expect(document["joined"] == "node2")
            #expect(document["query"] == "x=1")
            let wrongMethod = try await HTTPExchange.send("GET /v1/gossip/join HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("allow") == "POST")
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer { harness in
            let responses = try await HTTPExchange.send(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                port: harness.port,
                expecting: 2
            )
            #expect(responses.map(\.status) == [200, 200])
        }
    }

    // MARK: Path parameters

    @Test func pathParametersAreMatchedBySegmentAndPercentDecoded() async throws {
        try await withServer { harness in
            let coordinator = harness.routes.routes(for: "coordinator")
            coordinator.add(.GET, "/kv/{key}") { request in .json(["key": .string(try request.parameter("key")), "path": .string(request.path)]) }
            coordinator.add(.PUT, "/kv/{name}") { request in .json(["put": .string(request.parameters["name"] ?? "")]) }
            coordinator.add(.GET, "/kv/{key}/history/{index}") { request in
                .json(["key": .string(request.parameters["key"] ?? ""), "index": .string(request.parameters["index"] ?? "")])
            }

            let encodedSlash = try await HTTPExchange.send("GET /v1/coordinator/kv/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(encodedSlash.status == 200)
            #expect(try json(encodedSlash)["key"] == "a/b", "an encoded slash stays inside its segment")
            #expect(try json(encodedSlash)["path"] == "/kv/a%2Fb", "the request keeps the path as sent")

            let unicode = try await HTTPExchange.send("GET /v1/coordinator/kv/caf%C3%A9%20au%20lait HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(try json(unicode)["key"] == "café au lait")

            let nested = try await HTTPExchange.send("GET /v1/coordinator/kv/jobs/history/7 HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(try json(nested)["key"] == "jobs")
            #expect(try json(nested)["index"] == "7")

            let put = try await HTTPExchange.send("PUT /v1/coordinator/kv/x%3Fy HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", port: harness.port)
            #expect(try json(put)["put"] == "x?y", "each method's route names its own parameters")

            for path in ["/v1/coordinator/kv/a/b", "/v1/coordinator/kv/", "/v1/coordinator/kv", "/v1/coordinator/kv/a/history"] {
                let response = try await HTTPExchange.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
                #expect(response.status == 404, "\(path)")
            }

            let badEncoding = try await HTTPExchange.send("GET /v1/coordinator/kv/%zz HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(badEncoding.status == 400)
            #expect(try json(badEncoding)["error"] == "the path is not valid percent-encoded UTF-8")

            let head = try await HTTPExchange.send("HEAD /v1/coordinator/kv/a HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port, head: true)
            #expect(head.status == 200)
            #expect(head.body == "")
            #expect(Int(head.header("content-length") ?? "") == "{\n  \"key\": \"a\",\n  \"path\": \"/kv/a\"\n}\n".utf8.count)

            let delete = try await HTTPExchange.send("DELETE /v1/coordinator/kv/a HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(delete.status == 405)
            #expect(delete.header("allow") == "GET, HEAD, PUT")
        }
    }

    @Test func aLiteralSegmentWinsOverAParameter() async throws {
        try await withServer { harness in
            let coordinator = harness.routes.routes(for: "coordinator")
            coordinator.add(.GET, "/kv/{key}") { _ in .text("a key\n") }
            coordinator.add(.GET, "/kv/_keys") { _ in .text("the list\n") }
            coordinator.add(.GET, "/kv/{key}") { _ in .text("the replacement\n") }
            func body(_ path: String) async throws -> String {
                try await HTTPExchange.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port).body
            }
            let list = try await body("/v1/coordinator/kv/_keys")
            #expect(list == "the list\n")
            let key = try await body("/v1/coordinator/kv/_kez")
            #expect(key == "the replacement\n")
            let encoded = try await body("/v1/coordinator/kv/%5Fkeys")
            #expect(encoded == "the list\n", "an encoded unreserved character is the same character")
        }
    }

    // MARK: Errors

    @Test func aThrownAdminErrorIsItsStatusAndAJSONBody() async throws {
        try await withServer { harness in
            harness.routes.routes(for: "coordinator").add(.GET, "/kv/{key}") { request in
                throw AdminError.notFound("no key '\(try request.parameter("key"))'")
            }
            let response = try await HTTPExchange.send("GET /v1/coordinator/kv/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(response.status == 404)
            #expect(response.header("content-type") == "application/json")
            #expect(try json(response) == ["error": "no key 'a/b'"])
            #expect(harness.log.messages.isEmpty, "an error meant for the client is not logged")
        }
    }

    @Test func anyOtherErrorIs500WithAJSONBodyAndIsLogged() async throws {
        struct DiskOnFire: Error {}
        try await withServer { harness in
            harness.routes.routes(for: "coordinator").add(.POST, "/compact") { _ in throw DiskOnFire() }
            let response = try await HTTPExchange.send("POST /v1/coordinator/compact HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", port: harness.port)
            #expect(response.status == 500)
            #expect(response.header("content-type") == "application/json")
            #expect(try json(response) == ["error": "internal server error"])
            let logged = harness.log.messages
            #expect(logged.count == 1)
            #expect(logged.first?.contains("admin handler failed") == true)
            #expect(logged.first?.contains("DiskOnFire") == true)
            #expect(logged.first?.contains("/v1/coordinator/compact") == true)
        }
    }

    // MARK: Long polls and streams

    @Test func aLongPollIsAnsweredWhenItsEventArrives() async throws {
        try await withServer { harness in
            let events = Events()
            harness.routes.routes(for: "coordinator").add(.GET, "/watch/{key}") { request in
                events.record("watching")
                await events.wait(for: "changed")
                return .json(["key": .string(request.parameters["key"] ?? ""), "value": "new"])
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("GET /v1/coordinator/watch/leader HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await events.wait(for: "watching")
            events.record("changed")
            let answer = try await connection.response()
            #expect(answer.status == 200)
            #expect(try json(answer) == ["key": "leader", "value": "new"])
            #expect(try await connection.response().status == 200, "the pipelined request after the long poll is answered next")
            connection.close()
        }
    }

    @Test func aClientThatDisconnectsCancelsItsLongPoll() async throws {
        try await withServer { harness in
            let events = Events()
            harness.routes.routes(for: "coordinator").add(.GET, "/watch/{key}") { _ in
                events.record("watching")
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    events.record(Task.isCancelled ? "cancelled" : "woken by \(error)")
                    throw error
                }
                events.record("timed out")
                return .text("no change\n")
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("GET /v1/coordinator/watch/leader HTTP/1.1\r\nHost: x\r\n\r\n")
            await events.wait(for: "watching")
            let disconnected = ContinuousClock.now
            connection.close()
            await events.wait(for: "cancelled")
            #expect(ContinuousClock.now - disconnected < .seconds(25), "cancelled by the disconnect, not by the poll running out")
            #expect(events.all == ["watching", "cancelled"])
            #expect(harness.log.messages.isEmpty, "a handler cancelled by its client leaving is not an error")
            #expect(try await HTTPExchange.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port).status == 200)
        }
    }

    @Test func aStreamedBodyArrivesPartByPart() async throws {
        try await withServer { harness in
            let events = Events()
            harness.routes.routes(for: "coordinator").add(.GET, "/events") { _ in
                .streaming(headers: ["Content-Type": "application/x-ndjson"], AdminBodyStream { writer in
                    try await writer.write("{\"n\": 1}\n")
                    await events.wait(for: "first part read")
                    try await writer.write("")
                    try await writer.write("{\"n\": 2}\n")
                })
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("GET /v1/coordinator/events HTTP/1.1\r\nHost: x\r\n\r\n")
            let soFar = try await connection.waitFor("{\"n\": 1}\n")
            #expect(!soFar.contains("\"n\": 2"), "the first part was sent before the second was written")
            events.record("first part read")
            let response = try await connection.response()
            #expect(response.status == 200)
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.header("content-length") == nil)
            #expect(response.header("content-type") == "application/x-ndjson")
            #expect(response.body == "{\"n\": 1}\n{\"n\": 2}\n")
            connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await connection.response().status == 200, "the connection is kept alive after a streamed response")
            connection.close()
        }
    }

    @Test func anAsyncSequenceOfBuffersIsABody() async throws {
        try await withServer { harness in
            harness.routes.routes(for: "coordinator").add(.GET, "/log") { _ in
                let (parts, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
                for line in ["first\n", "second\n", "third\n"] { continuation.yield(ByteBuffer(string: line)) }
                continuation.finish()
                return AdminResponse(status: .ok, body: ByteBuffer(string: "entries:\n"), stream: AdminBodyStream(parts))
            }
            let response = try await HTTPExchange.send("GET /v1/coordinator/log HTTP/1.1\r\nHost: x\r\n\r\n", port: harness.port)
            #expect(response.body == "entries:\nfirst\nsecond\nthird\n")
        }
    }

    @Test func headOfAStreamedRouteSendsTheHeadAndNeverRunsTheStream() async throws {
        try await withServer { harness in
            let events = Events()
            harness.routes.routes(for: "coordinator").add(.GET, "/events") { _ in
                .streaming(AdminBodyStream { writer in
                    events.record("stream ran")
                    try await writer.write("part\n")
                })
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("HEAD /v1/coordinator/events HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/coordinator/events HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await connection.response(head: true)
            #expect(head.status == 200)
            #expect(head.header("transfer-encoding") == "chunked")
            let get = try await connection.response()
            #expect(get.body == "part\n", "nothing of a body followed the HEAD response")
            #expect(events.all == ["stream ran"], "only the GET ran the stream")
            connection.close()
        }
    }

    @Test func aStreamToAClientThatLeftIsCancelled() async throws {
        try await withServer { harness in
            let events = Events()
            harness.routes.routes(for: "coordinator").add(.GET, "/events") { _ in
                .streaming(AdminBodyStream { writer in
                    do {
                        while true {
                            try await writer.write("tick\n")
                            try await Task.sleep(for: .milliseconds(1))
                        }
                    } catch {
                        events.record("stream stopped")
                        throw error
                    }
                })
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("GET /v1/coordinator/events HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try await connection.waitFor("tick\n")
            connection.close()
            await events.wait(for: "stream stopped")
            #expect(harness.log.messages.isEmpty, "a stream cancelled by its client leaving is not an error")
        }
    }

    @Test func aStreamThatFailsMidwayClosesTheConnectionWithoutEndingTheBody() async throws {
        struct SourceGone: Error {}
        try await withServer { harness in
            harness.routes.routes(for: "coordinator").add(.GET, "/events") { _ in
                .streaming(AdminBodyStream { writer in
                    try await writer.write("partial\n")
                    throw SourceGone()
                })
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("GET /v1/coordinator/events HTTP/1.1\r\nHost: x\r\n\r\n")
            let received = try await connection.untilClosed()
            #expect(received.contains("partial\n"))
            #expect(!received.hasSuffix("0\r\n\r\n"), "no last chunk: the client can tell the body is incomplete")
            #expect(harness.log.messages.count == 1)
            #expect(harness.log.messages.first?.contains("SourceGone") == true)
        }
    }

    @Test func anHTTP10StreamEndsByClosingTheConnection() async throws {
        try await withServer { harness in
            harness.routes.routes(for: "coordinator").add(.GET, "/events") { _ in
                .streaming(AdminBodyStream { writer in
                    try await writer.write("one\n")
                    try await writer.write("two\n")
                })
            }
            let connection = try await AdminConnection.connect(port: harness.port)
            connection.send("GET /v1/coordinator/events HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let received = try await connection.untilClosed()
            #expect(received.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(!received.lowercased().contains("transfer-encoding"))
            #expect(received.hasSuffix("\r\n\r\none\ntwo\n"))
        }
    }
}

/// Named events one side of a test records and the other waits for, without sleeping.
final class Events: Sendable {
    private struct State {
        var seen: [String] = []
        var waiters: [(event: String, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    func record(_ event: String) {
        let woken = state.withLock { state in
            state.seen.append(event)
            let woken = state.waiters.filter { $0.event == event }.map(\.continuation)
            state.waiters.removeAll { $0.event == event }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    func wait(for event: String) async {
        await withCheckedContinuation { continuation in
            let seen = state.withLock { state in
                if state.seen.contains(event) { return true }
                state.waiters.append((event, continuation))
                return false
            }
            if seen { continuation.resume() }
        }
    }

    var all: [String] { state.withLock { $0.seen } }
}

/// What a logger wrote at warning level and above, one line per message with its metadata.
final class LogRecord: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    func handler() -> some LogHandler { Handler(record: self) }

    private struct Handler: LogHandler {
        let record: LogRecord
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            record.lines.withLock { $0.append(([event.message.description] + fields).joined(separator: " ")) }
        }
    }
}

final class Flag: Sendable {
    private let state = Mutex(true)
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
