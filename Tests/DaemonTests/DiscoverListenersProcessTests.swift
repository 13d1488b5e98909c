import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import TestSupport
import Testing

/// `discover: true` through the built binary: a load balancer (proxy + gossip) opens the port a backend process
/// announces its application on, routes the application's domains there (another `Host` to the configured default
/// site), and closes the port once the backend leaves, all without a reload.
@Suite struct DiscoverListenersProcessTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "outrider-dlis-")
    }

    /// Whether a new connection to `port` on loopback is refused (nothing listens there).
    static func refuses(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        return !connected && errno == ECONNREFUSED
    }

    func page(_ name: String) async throws -> StaticBackend {
        let www = directory.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: www, withIntermediateDirectories: true)
        try "\(name)\n".write(to: www.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        return try await StaticBackend(serving: www)
    }

    /// The status and body of a GET for `host` on `port`; nil when it fails.
    static func get(_ client: HTTPClient, port: Int, host: String, path: String = "/") async -> (status: UInt, body: String)? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.headers.replaceOrAdd(name: "Host", value: host)
        guard let response = try? await client.execute(request, timeout: .seconds(10)),
              let body = try? await response.body.collect(upTo: 1 << 16)
        else { return nil }
        return (response.status.code, String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func aBackendsAnnouncedPortOpensRoutesItsDomainsAndClosesWhenItLeaves() async throws {
        let fallback = try await page("fallback")
        let web = try await page("web-1")
        defer {
            fallback.stop()
            web.stop()
        }
        // The announced listen port is chosen by the backend's configuration, not by the load balancer's system, so
        // unlike every other listener in these tests it cannot be port 0.
        let port = try FreePort.tcp()

        let lbPath = directory.path("lb.yaml")
        try """
            node:
              name: lb-1
            admin:
              listen: 127.0.0.1:0
            roles:
              gossip:
                bind: 127.0.0.1:0
                profile: local
              proxy:
                listen: ["127.0.0.1:0"]
                sites: [{name: fallback, pools: ["http://127.0.0.1:\(fallback.port)"]}]
                discover: true
                discover_ports: [\(port)]
                discover_default_site: fallback
                health: {path: /, interval: 200ms, timeout: 1s}
            """.write(toFile: lbPath, atomically: true, encoding: .utf8)
        let lb = try DaemonProcess(["run", "--config", lbPath])
        let started = try await lb.waitForLine(containing: "outrider started", timeout: .seconds(30))
        let adminPort = try #require(DaemonProcess.loopbackPort(in: started))
        let gossipPort = try #require(DaemonProcess.loopbackPort(in: try await lb.waitForLine(containing: "gossip: listening", timeout: .seconds(30))))
        let proxyPort = try #require(DaemonProcess.loopbackPort(in: try await lb.waitForLine(containing: "proxy listening", timeout: .seconds(30))))

        let backendPath = directory.path("web-1.yaml")
        try """
            node:
              name: web-1
            admin:
              listen: 127.0.0.1:0
            roles:
              gossip:
                bind: 127.0.0.1:0
                profile: local
                join: ["127.0.0.1:\(gossipPort)"]
                applications:
                  - {name: web, listen_port: \(port), application_port: \(web.port), protocol: http, domains: [web.test, "*.web.test"]}
            """.write(toFile: backendPath, atomically: true, encoding: .utf8)
        #expect(Self.refuses(port), "no application announces the port yet")
        let backend = try DaemonProcess(["run", "--config", backendPath])
        _ = try await backend.waitForLine(containing: "outrider started", timeout: .seconds(30))

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await eventually(timeout: .seconds(30)) { await Self.get(client, port: port, host: "web.test")?.body == "web-1" }
            _ = try await lb.waitForLine(containing: "discovery: port \(port) opened", timeout: .seconds(10))
            #expect(await Self.get(client, port: port, host: "www.web.test")?.body == "web-1")
            #expect(await Self.get(client, port: port, host: "other.test")?.body == "fallback", "discover_default_site")
            #expect(await Self.get(client, port: proxyPort, host: "web.test")?.body == "fallback", "the configured listener has no route to web")

            // The gossip role shows each backend's health as the proxy's checks find it.
            let applications = try #require(await Self.get(client, port: adminPort, host: "127.0.0.1", path: "/v1/gossip/applications"))
            #expect(applications.body.contains("\"health\"") && applications.body.contains("\"online\""), "\(applications.body)")
            let status = try #require(await Self.get(client, port: adminPort, host: "127.0.0.1", path: "/v1/status"))
            #expect(status.body.contains("\"discovery\"") && status.body.contains("gossip://web") && status.body.contains("\(port)"), "\(status.body)")

            // The backend leaves the cluster: the port closes.
            backend.signal(SIGTERM)
            #expect(try await backend.waitForExit() == 0)
            try await eventually(timeout: .seconds(30)) { Self.refuses(port) }
            _ = try await lb.waitForLine(containing: "discovery: port \(port) closed", timeout: .seconds(10))
            #expect(await Self.get(client, port: proxyPort, host: "web.test")?.body == "fallback")
            try await client.shutdown()
        } catch {
            print("load balancer:\n\(lb.stderr.joined(separator: "\n"))\nbackend:\n\(backend.stderr.joined(separator: "\n"))")
            try? await client.shutdown()
            backend.signal(SIGKILL)
            lb.signal(SIGKILL)
            throw error
        }
        #expect(!lb.stderr.contains { $0.contains("configuration reloaded") })
        lb.signal(SIGTERM)
        #expect(try await lb.waitForExit() == 0)
    }
}
