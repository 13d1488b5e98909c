import Logging
import NIOCore
import NIOExtras
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
    private let quiescing: ServerQuiescingHelper

    private init(channel: any Channel, quiescing: ServerQuiescingHelper) {
        self.channel = channel
        self.quiescing = quiescing
    }

    /// Binds the listener; the error names the address when it is in use.
    public static func bind(
        host: String,
        port: Int,
        endpoints: Endpoints,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) async throws -> AdminServer {
        let quiescing = ServerQuiescingHelper(group: eventLoopGroup)
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(endpoints: endpoints, logger: logger))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return AdminServer(channel: channel, quiescing: quiescing)
        } catch {
            throw BindFailure(what: "admin.listen", address: "\(host):\(port)", error: error)
        }
    }

    /// The bound address; the port is the real one when 0 was asked for.
    public var localAddress: SocketAddress? { channel.localAddress }

    /// Stops accepting and closes connections once their current request is answered.
    public func stop() async {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: promise)
        try? await promise.futureResult.get()
        // The helper reports completion once the connections are gone, which can be before the listening
        // socket itself has finished closing.
        try? await channel.closeFuture.get()
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
