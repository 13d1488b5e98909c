import Logging
import NIOCore
import Synchronization
import NIOHTTP1
import NIOPosix

/// The admin listener: `/metrics`, `/healthz`, `/v1/status`, and each role's routes under `/v1/<role>/`.
///
/// A small HTTP/1.1 server on the shared event loop group. Requests are few and small, so handlers may be async;
/// nothing here is on a role's data path.
public final class AdminServer: Sendable {
    /// What the admin listener serves, supplied by the daemon.
    public struct Endpoints: Sendable {
        /// The Prometheus text exposition of every metric.
        public var metrics: @Sendable () -> String
        /// False while draining: `/healthz` answers 503.
        public var healthy: @Sendable () -> Bool
        /// The `/v1/status` document.
        public var status: @Sendable () async -> JSONValue
        public var routes: AdminRouteTable

        public init(
            metrics: @escaping @Sendable () -> String,
            healthy: @escaping @Sendable () -> Bool,
            status: @escaping @Sendable () async -> JSONValue,
            routes: AdminRouteTable
        ) {
            self.metrics = metrics
            self.healthy = healthy
            self.status = status
            self.routes = routes
        }
    }

    /// Requests larger than this are refused: admin routes take small JSON bodies.
    static let maximumBodySize = 1 << 20

    private let channel: any Channel
    private let connections: Connections

    /// The open client connections, closed when the server stops. Admin requests are short, so stopping does
    /// not wait for idle keep-alive connections to be used again.
    final class Connections: Sendable {
        private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

        func add(_ channel: any Channel) {
            open.withLock { $0[ObjectIdentifier(channel)] = channel }
            channel.closeFuture.whenComplete { [weak self] _ in
                _ = self?.open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }

        var all: [any Channel] { open.withLock { Array($0.values) } }
    }

    private init(channel: any Channel, connections: Connections) {
        self.channel = channel
        self.connections = connections
    }

    /// Binds the listener; the error names the address when it is in use. `prepareConnection` adds the handlers
    /// that go before HTTP on each accepted connection (a role's TLS), so the core needs no TLS of its own.
    public static func bind(
        host: String,
        port: Int,
        endpoints: Endpoints,
        eventLoopGroup: any EventLoopGroup,
        work: AdminWork,
        logger: Logger,
        prepareConnection: (@Sendable (any Channel) throws -> Void)? = nil
    ) async throws -> AdminServer {
        let connections = Connections()
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try prepareConnection?(channel)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(endpoints: endpoints, work: work, logger: logger))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return AdminServer(channel: channel, connections: connections)
        } catch {
            throw BindFailure(what: "admin.listen", address: "\(host):\(port)", error: error)
        }
    }

    /// The bound address; the port is the real one when 0 was asked for.
    public var localAddress: SocketAddress? { channel.localAddress }

    /// Stops accepting, then closes the open connections.
    public func stop() async {
        try? await channel.close()
        for connection in connections.all {
            try? await connection.close()
        }
    }
}

/// A listener that could not be bound, naming the setting and the address.
public struct BindFailure: Error, Sendable, CustomStringConvertible {
    public var what: String
    public var address: String
    public var reason: String

    public init(what: String, address: String, error: any Error) {
        self.what = what
        self.address = address
        if let io = error as? IOError, io.errnoCode == EADDRINUSE {
            reason = "address already in use"
        } else if let io = error as? IOError, io.errnoCode == EACCES {
            reason = "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
        } else if let io = error as? IOError, io.errnoCode == EADDRNOTAVAIL {
            reason = "address not available on this host"
        } else {
            reason = String(describing: error)
        }
    }

    public var description: String { "\(what) \(address): cannot listen: \(reason)" }
}
