import Logging
import NIOCore
import Plugins
import ServiceLifecycle

/// The admin server as a service, rebound in place when `admin.listen` changes on reload. The
/// work its requests do runs under this service's ``run()`` (``AdminWork``), whichever server
/// read them.
actor AdminListener: Service {
    private var server: AdminServer
    private nonisolated let work: AdminWork
    private var address: ListenAddress
    private let endpoints: AdminServer.Endpoints
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    private init(
        server: AdminServer,
        work: AdminWork,
        address: ListenAddress,
        endpoints: AdminServer.Endpoints,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) {
        self.server = server
        self.work = work
        self.address = address
        self.endpoints = endpoints
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    static func bind(_ address: ListenAddress, endpoints: AdminServer.Endpoints, eventLoopGroup: any EventLoopGroup, logger: Logger) async throws -> AdminListener {
        let work = AdminWork()
        let server = try await AdminServer.bind(
            host: address.bindHost,
            port: address.port,
            endpoints: endpoints,
            eventLoopGroup: eventLoopGroup,
            work: work,
            logger: logger
        )
        return AdminListener(server: server, work: work, address: address, endpoints: endpoints, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    var localAddress: SocketAddress? { server.localAddress }

    /// Binds the new address first, so a failure leaves the old listener serving.
    func rebind(to newAddress: ListenAddress) async throws {
        guard newAddress != address else { return }
        let replacement = try await AdminServer.bind(
            host: newAddress.bindHost,
            port: newAddress.port,
            endpoints: endpoints,
            eventLoopGroup: eventLoopGroup,
            work: work,
            logger: logger
        )
        let old = server
        server = replacement
        address = newAddress
        await old.stop()
        logger.info("admin listener moved", metadata: ["listen": "\(newAddress)"])
    }

    func stop() async {
        await server.stop()
    }

    /// Serves until the group's graceful shutdown reaches it: the admin listener is first in the group, so it
    /// stops last and `/healthz` can say 503 while the roles drain.
    nonisolated func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.work.run() }
            try? await gracefulShutdown()
            // Closing the connections cancels their requests' work; then nothing more runs.
            await stop()
            work.finish()
        }
    }
}
