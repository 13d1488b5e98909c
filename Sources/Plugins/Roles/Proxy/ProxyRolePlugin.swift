import Logging
import Plugins
import Proxy

/// The `proxy` role: sidekick's sidecar load balancer (``ProxyServer``) configured from `roles.proxy`.
public struct ProxyRolePlugin: RolePlugin {
    public typealias Settings = ProxyConfiguration

    public let name = "proxy"

    public init() {}

    /// The cache role's response cache, asked before routing when a cache runs on the host.
    public func uses(for settings: ProxyConfiguration) -> [CapabilityUse] {
        [.optional(.responseCache)]
    }

    public func decode(_ section: ConfigMapping) throws -> ProxyConfiguration {
        try ProxySection.decode(section)
    }

    public func summary(of settings: ProxyConfiguration) -> String {
        let listen = settings.listeners.map { listener in
            ListenAddress(host: listener.host, port: listener.port).description + (listener.tls == nil ? "" : " (TLS)")
        }
        let sites = (try? settings.resolvedSites()) ?? []
        let described = sites.map { "\($0.name): \($0.backends.count) backend\($0.backends.count == 1 ? "" : "s")" }
        return "listen \(listen.joined(separator: ", ")); \(sites.count) site\(sites.count == 1 ? "" : "s") (\(described.joined(separator: ", "))); balance \(settings.balance.rawValue)"
    }

    public func makeRole(settings: ProxyConfiguration, context: RoleContext) async throws -> any Role<ProxyConfiguration> {
        ProxyRole(
            server: ProxyServer(
                configuration: settings,
                eventLoopGroup: context.eventLoopGroup,
                logger: context.logger,
                metricsFactory: context.metrics,
                shutdownGrace: context.shutdownGrace
            ),
            cache: context.capabilities[.responseCache]
        )
    }
}

/// A running proxy as a ``Role``.
final class ProxyRole: Role {
    let server: ProxyServer
    /// The cache role's response cache, when one ran before this role started.
    private let initialCache: (any ResponseCache)?

    init(server: ProxyServer, cache: (any ResponseCache)? = nil) {
        self.server = server
        self.initialCache = cache
    }

    func start() async throws {
        if let initialCache {
            await server.setResponseCache(initialCache)
        }
        try await server.start()
    }

    /// A cache role started, stopped or was replaced: new requests use its cache, or none.
    func capabilitiesChanged(_ capabilities: Capabilities) async {
        await server.setResponseCache(capabilities[.responseCache])
    }
    func run() async throws { try await server.run() }
    /// New connections are refused from here on, while those open are served until the shutdown.
    func drain() async { await server.stopAccepting() }
    func shutdown(grace: Duration) async { await server.shutdown(grace: grace) }

    func reconfigure(to settings: ProxyConfiguration) async throws -> Reconfiguration {
        try await server.reconfigure(settings)
        return .applied
    }

    func status() async -> JSONValue {
        (try? JSONValue(encoding: server.status())) ?? .null
    }
}
