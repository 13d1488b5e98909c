import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import Plugins
import Proxy
import Testing

@testable import ProxyRole

/// The proxy as a role: what the host's calls do to a real `ProxyServer` on loopback.
@Suite struct ProxyRoleTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func makeRole() async throws -> any Role<ProxyRoleSettings> {
        var configuration = ProxyConfiguration(listeners: [.init(host: "127.0.0.1", port: 0)], sites: [.init(pools: ["http://127.0.0.1:1"])])
        configuration.health.timeout = .milliseconds(100)
        let context = RoleContext(
            eventLoopGroup: group,
            metrics: NOOPMetricsHandler.instance,
            logger: Logger(label: "test"),
            node: NodeIdentity(name: "test-node", version: "0"),
            admin: AdminRouteTable().routes(for: "proxy"),
            capabilities: Capabilities(),
            shutdownGrace: .seconds(1)
        )
        return try await ProxyRolePlugin().makeRole(settings: ProxyRoleSettings(proxy: configuration), context: context)
    }

    func connect(_ port: Int) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
    }

    /// Whether a new connection to `port` is answered as this test's proxy answers (a 502 "no backend online")
    /// within 2 s; false when the connection is refused.
    func answeredByAProxy(_ port: Int) async -> Bool {
        guard let channel = try? await connect(port) else { return false }
        let answered = try? await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET /anything HTTP/1.1\r\nHost: x\r\n\r\n"))
            return try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    var received = ByteBuffer()
                    for try await var chunk in inbound {
                        received.writeBuffer(&chunk)
                        if String(buffer: received).contains("no backend online\n") { return true }
                    }
                    return false
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(2))
                    return false
                }
                defer { group.cancelAll() }
                return try await group.next() ?? false
            }
        }
        return answered ?? false
    }

    @Test func drainingRefusesNewConnectionsAndServesOpenOnes() async throws {
        let role = try await makeRole()
        try await role.start()
        let port = try #require((role as? ProxyRole)?.server.localAddresses.first?.port)
        let open = try await connect(port)
        let statusLines = try await open.executeThenClose { inbound, outbound in
            var lines: [String] = []
            var iterator = inbound.makeAsyncIterator()
            func exchange() async throws {
                try await outbound.write(ByteBuffer(string: "GET /anything HTTP/1.1\r\nHost: x\r\n\r\n"))
                var received = ByteBuffer()
                // The answer is a 502 with a short body; read it whole so the next one starts afresh.
                while !String(buffer: received).contains("no backend online\n"), var chunk = try await iterator.next() {
                    received.writeBuffer(&chunk)
                }
                lines.append(String(buffer: received).split(separator: "\r\n").first.map(String.init) ?? "")
            }
            // A first answer proves the connection was accepted before the drain: one still in
            // the listener's backlog when it closes is reset.
            try await exchange()
            await role.drain()
            // A connection that does open is the port taken again by another test's listener (tests run in
            // parallel on ephemeral ports): it must not be this proxy answering.
            #expect(await !answeredByAProxy(port), "the listener is closed")
            try await exchange()
            return lines
        }
        #expect(statusLines == ["HTTP/1.1 502 Bad Gateway", "HTTP/1.1 502 Bad Gateway"], "a connection open before the drain is still served")

        await role.shutdown(grace: .seconds(1))
        try await role.run()
    }
}
