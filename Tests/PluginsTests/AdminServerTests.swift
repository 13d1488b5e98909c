import Logging
import NIOCore
import NIOPosix
import Plugins
import Synchronization
import XCTest

/// The admin listener over a real loopback socket.
final class AdminServerTests: XCTestCase {
    var eventLoopGroup: MultiThreadedEventLoopGroup!
    var server: AdminServer!
    let healthy = Flag()
    let routes = AdminRouteTable()
    var port: Int { server.localAddress!.port! }

    override func setUp() async throws {
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let healthy = self.healthy
        server = try await AdminServer.bind(
            host: "127.0.0.1",
            port: 0,
            endpoints: .init(
                metrics: { "# TYPE test_total counter\ntest_total 3\n" },
                healthy: { healthy.value },
                status: { ["node": "n1", "roles": [:]] },
                routes: routes
            ),
            eventLoopGroup: eventLoopGroup,
            logger: Logger(label: "test")
        )
    }

    override func tearDown() async throws {
        await server.stop()
        server = nil
        try await eventLoopGroup.shutdownGracefully()
    }

    func testMetricsInPrometheusTextFormat() async throws {
        let response = try await HTTPExchange.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertTrue(response.body.contains("test_total 3"))
    }

    func testHealthzFollowsDraining() async throws {
        var response = try await HTTPExchange.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
        XCTAssertEqual(response.status, 200)
        healthy.value = false
        response = try await HTTPExchange.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
        XCTAssertEqual(response.status, 503)
    }

    func testStatusIsJSON() async throws {
        let response = try await HTTPExchange.send("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("content-type"), "application/json")
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(response.body.utf8))
        XCTAssertEqual(document["node"], "n1")
    }

    func testHeadAnswersLikeGetWithoutBody() async throws {
        let response = try await HTTPExchange.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", port: port, head: true)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, "")
        XCTAssertEqual(Int(response.header("content-length") ?? ""), "# TYPE test_total counter\ntest_total 3\n".utf8.count)
    }

    func testOtherMethodsAre405AndUnknownPaths404() async throws {
        for path in ["/metrics", "/healthz", "/v1/status"] {
            let response = try await HTTPExchange.send("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", port: port)
            XCTAssertEqual(response.status, 405, path)
            XCTAssertEqual(response.header("allow"), "GET, HEAD")
        }
        for path in ["/", "/nope", "/v1/", "/v1/proxy/anything", "/metrics/extra"] {
            let response = try await HTTPExchange.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
            XCTAssertEqual(response.status, 404, path)
        }
    }

    func testRoleRoutesUnderV1() async throws {
        routes.routes(for: "gossip").add(.POST, "/join") { request in
            .json(["joined": .string(String(buffer: request.body)), "query": .string(request.query ?? "")])
        }
        let response = try await HTTPExchange.send("POST /v1/gossip/join?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nnode2", port: port)
        XCTAssertEqual(response.status, 200)
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(response.body.utf8))
        XCTAssertEqual(document["joined"], "node2")
        XCTAssertEqual(document["query"], "x=1")
        let wrongMethod = try await HTTPExchange.send("GET /v1/gossip/join HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.header("allow"), "POST")
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() async throws {
        let responses = try await HTTPExchange.send(
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            port: port,
            expecting: 2
        )
        XCTAssertEqual(responses.map(\.status), [200, 200])
    }
}

/// A raw HTTP/1.1 exchange over a blocking loopback socket: the test speaks the bytes itself, so the server is
/// checked against the protocol rather than against another HTTP library's leniency.
struct HTTPExchange {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    static func send(_ request: String, port: Int, head: Bool = false) async throws -> HTTPExchange {
        try await send(request, port: port, expecting: 1, head: head)[0]
    }

    static func send(_ request: String, port: Int, expecting count: Int, head: Bool = false) async throws -> [HTTPExchange] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        _ = request.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        var received: [UInt8] = []
        var responses: [HTTPExchange] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while responses.count < count {
            if let (response, used) = parse(received, head: head) {
                responses.append(response)
                received.removeFirst(used)
                continue
            }
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { throw POSIXError(.ECONNRESET) }
            received += chunk[0..<n]
        }
        return responses
    }

    static func parse(_ bytes: [UInt8], head: Bool) -> (HTTPExchange, Int)? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let headLines = text[..<end.lowerBound].components(separatedBy: "\r\n")
        let status = Int(headLines[0].split(separator: " ")[1]) ?? 0
        let headers = headLines.dropFirst().map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        let headLength = text[..<end.upperBound].utf8.count
        let length = head ? 0 : Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
        guard bytes.count >= headLength + length else { return nil }
        let body = String(decoding: bytes[headLength..<(headLength + length)], as: UTF8.self)
        return (HTTPExchange(status: status, headers: headers, body: body), headLength + length)
    }
}

final class Flag: Sendable {
    private let state = Mutex(true)
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
