import Logging
import Membership
import Plugins
import Proxy
import Synchronization

/// The `proxy` role: sidekick's sidecar load balancer (``ProxyServer``) configured from `roles.proxy`.
public struct ProxyRolePlugin: RolePlugin {
    public typealias Settings = ProxyRoleSettings

    public let name = "proxy"

    public init() {}

    public func decode(_ section: ConfigMapping) throws -> ProxyRoleSettings {
        try ProxySection.decode(section)
    }

    /// The cache role's response cache, asked before routing when a cache runs on the host; membership, required by
    /// the first `gossip://` pool, when any site has one.
    public func uses(for settings: ProxyRoleSettings) -> [CapabilityUse] {
        guard let first = settings.discoveredPools.first else { return [.optional(.responseCache)] }
        return [.optional(.responseCache), .required(.membership, by: first.application.location)]
    }

    public func summary(of settings: ProxyRoleSettings) -> String {
        let listen = settings.proxy.listeners.map { listener in
            ListenAddress(host: listener.host, port: listener.port).description + (listener.tls == nil ? "" : " (TLS)")
        }
        let sites = (try? settings.proxy.resolvedSites()) ?? []
        let described = sites.map { site in
            let discovered = settings.discoveredPools.filter { $0.site == site.name }.map { "gossip://\($0.application.value)" }
            let fixed = "\(site.backends.count) backend\(site.backends.count == 1 ? "" : "s")"
            return "\(site.name): " + (discovered.isEmpty ? fixed : ([fixed] + discovered).joined(separator: " + "))
        }
        return "listen \(listen.joined(separator: ", ")); \(sites.count) site\(sites.count == 1 ? "" : "s") (\(described.joined(separator: ", "))); balance \(settings.proxy.balance.rawValue)"
    }

    public func makeRole(settings: ProxyRoleSettings, context: RoleContext) async throws -> any Role<ProxyRoleSettings> {
        let discovery = DiscoveredBackends(settings: settings)
        let membership = settings.discoveredPools.isEmpty ? nil : context.capabilities[.membership]
        if let membership { _ = discovery.update(from: membership.snapshot) }
        let server = ProxyServer(
            configuration: discovery.configuration(),
            eventLoopGroup: context.eventLoopGroup,
            logger: context.logger,
            metricsFactory: context.metrics,
            shutdownGrace: context.shutdownGrace
        )
        return ProxyRole(
            server: server, discovery: discovery, membership: membership, cache: context.capabilities[.responseCache], logger: context.logger
        )
    }
}

/// A running proxy as a ``Role``.
final class ProxyRole: Role {
    let server: ProxyServer
    let discovery: DiscoveredBackends
    let logger: Logger
    /// The task following membership for the `gossip://` pools, replaced when the capability's provider changes;
    /// cancelled and awaited by ``shutdown(grace:)``, so it never outlives the role.
    private let follower = Mutex<Task<Void, Never>?>(nil)
    private let initialMembership: (any MembershipView)?
    /// The cache role's response cache, when one ran before this role started.
    private let initialCache: (any ResponseCache)?

    init(server: ProxyServer, discovery: DiscoveredBackends, membership: (any MembershipView)?, cache: (any ResponseCache)? = nil, logger: Logger) {
        self.server = server
        self.discovery = discovery
        self.initialMembership = membership
        self.initialCache = cache
        self.logger = logger
    }

    func start() async throws {
        if let initialCache {
            await server.setResponseCache(initialCache)
        }
        try await server.start()
        if let initialMembership { follow(initialMembership) }
    }

    func run() async throws { try await server.run() }
    /// New connections are refused from here on, while those open are served until the shutdown.
    func drain() async { await server.stopAccepting() }

    func shutdown(grace: Duration) async {
        let task = follower.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
        await server.shutdown(grace: grace)
    }

    func reconfigure(to settings: ProxyRoleSettings) async throws -> Reconfiguration {
        try await server.reconfigure(discovery.replaceSettings(with: settings))
        return .applied
    }

    /// A cache role started, stopped or was replaced: new requests use its cache, or none. The gossip role did: the
    /// `gossip://` pools follow its membership, or empty.
    func capabilitiesChanged(_ capabilities: Capabilities) async {
        await server.setResponseCache(capabilities[.responseCache])
        guard discovery.hasDiscoveredPools else { return }
        if let membership = capabilities[.membership] {
            follow(membership)
        } else {
            follow(nil)
        }
    }

    func status() async -> JSONValue {
        (try? JSONValue(encoding: server.status())) ?? .null
    }

    /// Follows `membership` (none: the discovered pools empty) from now on, in place of what was followed before.
    private func follow(_ membership: (any MembershipView)?) {
        follower.withLock { current in
            let previous = current
            current = Task { [server, discovery, logger] in
                previous?.cancel()
                await previous?.value
                guard let membership else {
                    await Self.apply(discovery.update(from: nil), to: server, logger: logger)
                    return
                }
                for await snapshot in membership.snapshots() {
                    await Self.apply(discovery.update(from: snapshot), to: server, logger: logger)
                }
            }
        }
    }

    private static func apply(_ changed: [(site: String, urls: [String])], to server: ProxyServer, logger: Logger) async {
        for (site, urls) in changed {
            do {
                try await server.replaceBackends(ofSite: site, with: urls)
                logger.info("site \(site): \(urls.count) backend\(urls.count == 1 ? "" : "s") from membership")
            } catch {
                logger.error("site \(site): the backends membership gives cannot be applied: \(error)")
            }
        }
    }
}
