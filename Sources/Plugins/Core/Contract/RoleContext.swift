import CoreMetrics
import Logging
import NIOCore

/// What the daemon gives each role when it is built.
public struct RoleContext: Sendable {
    /// The process's one event loop group, sized by `event_loop.threads`.
    public var eventLoopGroup: any EventLoopGroup
    /// A factory on the process's one metrics registry; names are prefixed `outrider_<role>_`.
    public var metrics: any MetricsFactory
    /// A logger labelled with the role.
    public var logger: Logger
    /// This host's identity in the cluster (`node.name`).
    public var node: NodeIdentity
    /// Routes under `/v1/<role>/` on the admin listener.
    public var admin: AdminRoutes
    /// Capabilities offered by the roles started before this one.
    public var capabilities: Capabilities
    /// How long in-flight work may take to finish when the daemon stops (`shutdown_grace`).
    public var shutdownGrace: Duration

    public init(
        eventLoopGroup: any EventLoopGroup,
        metrics: any MetricsFactory,
        logger: Logger,
        node: NodeIdentity,
        admin: AdminRoutes,
        capabilities: Capabilities,
        shutdownGrace: Duration
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.metrics = metrics
        self.logger = logger
        self.node = node
        self.admin = admin
        self.capabilities = capabilities
        self.shutdownGrace = shutdownGrace
    }
}

/// The host's name in the cluster and the version it runs.
public struct NodeIdentity: Sendable, Hashable {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}
