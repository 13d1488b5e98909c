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
    /// `discover: true` or the first `gossip://` pool, when either is set.
    public func uses(for settings: ProxyRoleSettings) -> [CapabilityUse] {
        guard let location = settings.discovery?.location ?? settings.discoveredPools.first?.application.location else {
            return [.optional(.responseCache)]
        }
        return [.optional(.responseCache), .required(.membership, by: location)]
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
        let discover = settings.discovery.map { "; discover on \($0.ports.map(String.init).joined(separator: ", "))" } ?? ""
        return "listen \(listen.joined(separator: ", ")); \(sites.count) site\(sites.count == 1 ? "" : "s") (\(described.joined(separator: ", ")))\(discover); balance \(settings.proxy.balance.rawValue)"
    }

    public func makeRole(settings: ProxyRoleSettings, context: RoleContext) async throws -> any Role<ProxyRoleSettings> {
        let discovery = DiscoveredBackends(settings: settings)
        let membership = context.capabilities[.membership]
        if let membership, settings.followsMembership { discovery.fillPools(from: membership.snapshot) }
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
    /// The membership offered on the host, followed while the settings have `gossip://` pools or `discover: true`.
    private let offeredMembership: Mutex<(any MembershipView)?>
    /// The membership the proxy's health is reported to, told when the proxy stops.
    private let reportingTo = Mutex<(any MembershipView)?>(nil)
    /// The cache role's response cache, when one ran before this role started.
    private let initialCache: (any ResponseCache)?
    /// Reloads and membership changes one at a time: each builds the proxy's configuration from the discovery state
    /// and applies it before the next begins, so that a change planned from a membership state before a reload is not
    /// applied after it, with the settings the reload replaced (a port the reload closed would open again).
    private let applying = ControlLock()

    init(server: ProxyServer, discovery: DiscoveredBackends, membership: (any MembershipView)?, cache: (any ResponseCache)? = nil, logger: Logger) {
        self.server = server
        self.discovery = discovery
        self.offeredMembership = Mutex(membership)
        self.initialCache = cache
        self.logger = logger
    }

    func start() async throws {
        if let initialCache {
            await server.setResponseCache(initialCache)
        }
        try await server.start()
        if discovery.followsMembership, let membership = offeredMembership.withLock({ $0 }) { follow(membership) }
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
        reportingTo.withLock { reporting in
            reporting?.report(nil)
            reporting = nil
        }
        await server.shutdown(grace: grace)
    }

    func reconfigure(to settings: ProxyRoleSettings) async throws -> Reconfiguration {
        let followed = discovery.followsMembership
        try await applying.withLock { [server, discovery] in
            let previous = discovery.settings
            do {
                try await server.reconfigure(discovery.replaceSettings(with: settings))
            } catch {
                // The proxy keeps the previous configuration; so does discovery, for the next membership change.
                _ = discovery.replaceSettings(with: previous)
                throw error
            }
        }
        // A reload that adds the first `gossip://` pool (or `discover: true`) starts following the membership.
        if !followed, discovery.followsMembership, let membership = offeredMembership.withLock({ $0 }) { follow(membership) }
        return .applied
    }

    /// A cache role started, stopped or was replaced: new requests use its cache, or none. The gossip role did: the
    /// `gossip://` pools follow its membership, or empty.
    func capabilitiesChanged(_ capabilities: Capabilities) async {
        await server.setResponseCache(capabilities[.responseCache])
        offeredMembership.withLock { $0 = capabilities[.membership] }
        guard discovery.followsMembership else { return }
        if let membership = capabilities[.membership] {
            follow(membership)
        } else {
            follow(nil)
        }
    }

    /// The proxy's sites and backends; with `discover: true`, under `discovery`, the ports opened for announced
    /// applications (each with its bound addresses and routes) and what discovery leaves out, with the reason.
    func status() async -> JSONValue {
        let status = (try? JSONValue(encoding: server.status())) ?? .null
        guard discovery.discovers, case .object(var fields) = status else { return status }
        let routes = discovery.routes
        let bound = server.boundListeners.filter { $0.listener.virtualHosts != nil }
        fields.append(("discovery", [
            "listeners": .array(routes.listeners.map { listener in
                [
                    "port": .number(Double(listener.port)),
                    "addresses": .array(bound.filter { $0.listener.port == listener.port }.map { .string("\($0.address)") }),
                    "routes": .array(listener.routes.map { route in
                        ["hosts": .array(route.hosts.map { .string($0) }), "site": .string(route.site)]
                    }),
                ]
            }),
            "ignored": .array(routes.ignored.map { ["application": .string($0.application), "reason": .string($0.reason)] }),
        ]))
        return .object(fields)
    }

    /// Follows `membership` (none: the discovered pools empty) from now on, in place of what was followed before,
    /// and reports the health checks' findings to it.
    private func follow(_ membership: (any MembershipView)?) {
        reportingTo.withLock { reporting in
            reporting?.report(nil)
            membership?.report(ProxyEndpointHealth(server: server))
            reporting = membership
        }
        follower.withLock { current in
            let previous = current
            current = Task { [server, discovery, logger, applying] in
                previous?.cancel()
                await previous?.value
                guard let membership else {
                    await applying.withLock { await Self.apply(discovery.update(from: nil), to: server, discovery: discovery, logger: logger) }
                    return
                }
                for await snapshot in membership.snapshots() {
                    await applying.withLock { await Self.apply(discovery.update(from: snapshot), to: server, discovery: discovery, logger: logger) }
                }
            }
        }
    }

    private static func apply(_ update: DiscoveredBackends.Update, to server: ProxyServer, discovery: DiscoveredBackends, logger: Logger) async {
        for ignored in update.ignored {
            logger.warning("discovery: application \(ignored.application) is not served: \(ignored.reason)")
        }
        guard var configuration = update.configuration else {
            await apply(update.backends, to: server, logger: logger)
            return
        }
        var update = update
        while true {
            do {
                try await server.reconfigure(configuration)
                for port in update.opened { logger.info("discovery: port \(port) opened for announced applications") }
                for port in update.closed { logger.info("discovery: port \(port) closed: no announced application uses it") }
                let sites = discovery.routes.sites
                logger.info("discovery: \(sites.count) application\(sites.count == 1 ? "" : "s") routed (\(sites.map { "\($0.application): \($0.urls.count)" }.joined(separator: ", ")))")
                return
            } catch ProxyServerError.bindFailed(let address, let reason) {
                // One port that cannot be opened (in use by another program) must not hold back every other
                // application: it is left out until the next membership change, when it is tried again.
                guard let port = address.split(separator: ":").last.flatMap({ Int($0) }),
                      let next = discovery.markUnavailable(port, reason: reason), let nextConfiguration = next.configuration
                else {
                    logger.error("discovery: the announced applications cannot be applied: cannot listen on \(address): \(reason)")
                    discovery.routesFailed()
                    return
                }
                logger.error("discovery: cannot listen on \(address) for announced applications: \(reason)")
                update = next
                configuration = nextConfiguration
            } catch {
                logger.error("discovery: the announced applications cannot be applied: \(error)")
                discovery.routesFailed()
                return
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

/// The proxy's health checks, as the gossip role shows them beside each announced backend
/// (`/v1/gossip/applications`).
struct ProxyEndpointHealth: EndpointHealth {
    let server: ProxyServer

    func status(of url: String) -> [String: String] {
        var found: [String: String] = [:]
        for site in server.status().sites {
            for backend in site.backends where backend.endpoint == url {
                found[site.name] = backend.status
            }
        }
        return found
    }
}
