import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A sidekick-style load balancer: accepts HTTP on every configured listener and proxies each
/// request to an online backend of the first site that has one.
///
/// Lifecycle: ``start()`` binds the listeners and starts health checks; ``run()`` waits until
/// ``shutdown(grace:)`` has finished; ``reconfigure(_:)`` changes sites, balancing, health and
/// listeners in place; ``stopAccepting()`` closes the listeners ahead of the shutdown. Everything
/// runs on the event loops of the group passed in.
public final class ProxyServer: Sendable {
    private enum Lifecycle {
        case created
        case starting
        case running
        /// Listeners closed by ``stopAccepting()``; open connections are still served.
        case draining
        case stopping
        case stopped
    }

    private struct Listening {
        var listener: ProxyConfiguration.Listener
        var channel: any Channel
        /// The table of a listener with its own virtual hosts; `nil`: the runtime's main table.
        var tables: RoutingInForce?

        /// Whether this bound listener already is `wanted`: the same socket settings, or (when
        /// not `exactly`) a port-0 listener whose chosen port is now asked for explicitly. The
        /// contents of its virtual hosts may differ: they are installed without a rebind.
        func serves(_ wanted: ProxyConfiguration.Listener, exactly: Bool) -> Bool {
            if exactly { return listener.bindsAs(wanted) }
            guard listener.port == 0, let port = channel.localAddress?.port else { return false }
            var resolved = listener
            resolved.port = port
            return resolved.bindsAs(wanted)
        }
    }

    private struct State {
        var lifecycle: Lifecycle = .created
        var configuration: ProxyConfiguration
        var listeners: [Listening] = []
        var runtimeError: ProxyServerError?
        var shutdown: EventLoopFuture<Void>?
    }

    private let group: any EventLoopGroup
    private let logger: Logger
    private let metricsFactory: any MetricsFactory
    private let runtime: ProxyRuntime
    private let connections = ClientConnections()
    private let state: NIOLockedValueBox<State>
    /// Completed once shutdown has finished; ``run()`` waits for it.
    private let stopped: EventLoopPromise<Void>
    /// Completed when shutdown begins or a listener fails; in the second case ``run()`` shuts the
    /// proxy down itself, so that no task outlives the caller of ``run()``.
    private let stopping: EventLoopPromise<Void>
    /// The grace of a shutdown the proxy begins itself, when a listener fails.
    private let shutdownGrace: Duration
    /// Serialises ``start()``, ``reconfigure(_:)`` and ``shutdown(grace:)``.
    private let control = ControlLock()

    /// Creates a proxy; nothing is bound until ``start()``.
    ///
    /// - Parameters:
    ///   - configuration: validated here; an invalid one makes ``start()`` throw.
    ///   - eventLoopGroup: the daemon's shared group; the proxy creates no threads of its own.
    ///   - metricsFactory: the factory every metric is created on (names without prefix, such as
    ///     `requests_total`).
    ///   - traceSink: where trace lines go when tracing is enabled; standard error by default.
    ///   - shutdownGrace: how long requests in flight may take when the proxy shuts itself down
    ///     because a listener failed; the daemon passes its `shutdown_grace`.
    public init(
        configuration: ProxyConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        metricsFactory: any MetricsFactory,
        traceSink: any TraceSink = StandardErrorTraceSink(),
        shutdownGrace: Duration = .seconds(10)
    ) {
        self.group = eventLoopGroup
        self.shutdownGrace = shutdownGrace
        self.logger = logger
        self.metricsFactory = metricsFactory
        let health = HealthChecker(eventLoop: eventLoopGroup.next(), logger: logger)
        let empty = Routing(
            sites: [],
            policy: configuration.balance,
            retryAttempts: 0,
            upstream: UpstreamSettings(connectTimeout: .seconds(10), idleTimeout: .seconds(15), maxIdlePerBackend: 0, responseTimeout: .seconds(60)),
            retryAfterSeconds: 5,
            trace: nil,
            limits: ConnectionLimits(maxHeaderBytes: 65_536, headerReadTimeout: .seconds(30), idleTimeout: .seconds(120), maxConnections: 1)
        )
        self.runtime = ProxyRuntime(routing: empty, health: health, logger: logger, metricsFactory: metricsFactory, traceSink: traceSink)
        self.state = NIOLockedValueBox(State(configuration: configuration))
        self.stopped = eventLoopGroup.any().makePromise(of: Void.self)
        self.stopping = eventLoopGroup.any().makePromise(of: Void.self)
    }

    deinit {
        // A proxy dropped without being started or stopped must not leak its promises, which
        // NIO reports as a bug in debug builds.
        stopping.succeed()
        stopped.succeed()
    }

    /// The addresses the listeners are bound to, in configuration order; with port 0 this is
    /// where the system's chosen port shows.
    public var localAddresses: [SocketAddress] {
        state.withLockedValue { $0.listeners.compactMap(\.channel.localAddress) }
    }

    /// Each bound listener's settings with the address it is bound to, in configuration order.
    public var boundListeners: [(listener: ProxyConfiguration.Listener, address: SocketAddress)] {
        state.withLockedValue { state in
            state.listeners.compactMap { listening in listening.channel.localAddress.map { (listening.listener, $0) } }
        }
    }

    /// Validates the configuration, starts the health checks and binds every listener.
    ///
    /// Returns once every listener accepts connections. Backends start offline and are checked
    /// at once; this waits for those first checks (at most the health timeout, capped at 2 s),
    /// so healthy backends are online when it returns.
    /// - Throws: ``ProxyConfigurationError`` or ``ProxyServerError`` (naming the address that
    ///   could not be bound); nothing is left running then.
    public func start() async throws {
        try await control.withLock {
            let configuration = try state.withLockedValue { state in
                guard state.lifecycle == .created else { throw ProxyServerError.alreadyStarted }
                state.lifecycle = .starting
                return state.configuration
            }
            do {
                try await apply(configuration)
                let failed = state.withLockedValue { state -> Bool in
                    if state.lifecycle == .starting {
                        state.lifecycle = .running
                        return false
                    }
                    return true
                }
                if failed { throw ProxyServerError.notRunning }
            } catch {
                let listeners = state.withLockedValue { state in
                    state.lifecycle = .stopped
                    defer { state.listeners = [] }
                    return state.listeners
                }
                for listening in listeners {
                    try? await listening.channel.close()
                }
                try? await runtime.health.stop().get()
                stopping.succeed()
                stopped.succeed()
                throw error
            }
        }
    }

    /// Waits until ``shutdown(grace:)`` has completed. When a listener stops by itself, shuts the
    /// proxy down (with the `shutdownGrace` given at creation) and throws.
    ///
    /// - Throws: ``ProxyServerError/listenerFailed(address:)`` when a listener stopped by itself,
    ///   after the proxy has shut down because of it.
    public func run() async throws {
        try await stopping.futureResult.get()
        if state.withLockedValue({ $0.runtimeError }) != nil {
            await shutdown(grace: shutdownGrace)
        }
        try await stopped.futureResult.get()
        if let error = state.withLockedValue({ $0.runtimeError }) {
            throw error
        }
    }

    /// Stops accepting connections, lets in-flight requests finish for up to `grace`, then
    /// closes what is left. Keep-alive connections close after their current response. Safe to
    /// call more than once and before ``start()``; every call returns once shutdown is done.
    public func shutdown(grace: Duration) async {
        let (listeners, alreadyStopping) = state.withLockedValue { state -> ([Listening], Bool) in
            switch state.lifecycle {
            case .stopping, .stopped:
                return ([], true)
            case .created, .starting, .running, .draining:
                state.lifecycle = .stopping
                defer { state.listeners = [] }
                return (state.listeners, false)
            }
        }
        stopping.succeed()
        if alreadyStopping {
            try? await stopped.futureResult.get()
            return
        }
        for listening in listeners {
            try? await listening.channel.close()
        }
        await connections.quiesce(grace: TimeAmount(grace), on: group.any())
        try? await runtime.health.stop().get()
        for closed in runtime.pools.closeAll() {
            try? await closed.get()
        }
        state.withLockedValue { $0.lifecycle = .stopped }
        logger.info("proxy stopped")
        stopped.succeed()
    }

    /// Closes every listener, so no new connection is accepted, while open connections are served
    /// on until ``shutdown(grace:)``: the proxy's part of the daemon's drain, which lets a load
    /// balancer in front see this host refuse connections before its requests in flight end. Does
    /// nothing unless the proxy is running; ``reconfigure(_:)`` is refused afterwards.
    public func stopAccepting() async {
        await control.withLock {
            let listeners = state.withLockedValue { state -> [Listening] in
                guard state.lifecycle == .running else { return [] }
                state.lifecycle = .draining
                defer { state.listeners = [] }
                return state.listeners
            }
            for listening in listeners {
                try? await listening.channel.close()
            }
            if !listeners.isEmpty { logger.info("proxy stopped accepting connections") }
        }
    }

    /// Applies a new configuration without dropping traffic.
    ///
    /// New requests use the new sites, balance policy, retry, trace and limits at once;
    /// requests in flight finish as they started. Backends present before and after (same site
    /// name and URL) keep their health, statistics and pooled connections; new ones start
    /// offline and are checked at once. Listeners that changed are rebound, the others keep
    /// their connections.
    /// - Throws: ``ProxyConfigurationError`` or ``ProxyServerError``; on error the previous
    ///   configuration stays in force, except listeners already rebound.
    public func reconfigure(_ configuration: ProxyConfiguration) async throws {
        try await control.withLock {
            try state.withLockedValue { state in
                guard state.lifecycle == .running else { throw ProxyServerError.notRunning }
            }
            try await apply(configuration)
            state.withLockedValue { $0.configuration = configuration }
        }
    }

    /// Replaces the backends of the site named `site` while the proxy runs, for backend sets
    /// that change often (members announcing an application over gossip): listeners, TLS
    /// settings and every other site are left alone, and no health check is waited for.
    ///
    /// Backends kept (same URL) keep their health, statistics and pooled connections; new ones
    /// start offline and take traffic after their first passing health check; removed ones get
    /// no new requests, requests in flight to them finish (or are retried as usual), their idle
    /// connections close and their metrics are no longer exported. The change holds until the
    /// next ``reconfigure(_:)``, which sets every site from its configuration again.
    ///
    /// - Parameter urls: backend URLs as in a pool (`http://host:port`), without `{a...b}`
    ///   patterns; an empty list leaves the site without backends.
    /// - Throws: ``ProxyServerError/unknownSite(_:)``, ``ProxyConfigurationError`` for a URL
    ///   that does not parse or a scheme that differs from the others, ``ProxyServerError/tls(reason:)``
    ///   when an `https` backend needs a client context that cannot be made. Nothing changes
    ///   then.
    public func replaceBackends(ofSite site: String, with urls: [String]) async throws {
        try await control.withLock {
            let configuration = try state.withLockedValue { state in
                guard state.lifecycle == .running else { throw ProxyServerError.notRunning }
                return state.configuration
            }
            let current = runtime.routing
            guard let index = current.sites.firstIndex(where: { $0.name == site }) else {
                throw ProxyServerError.unknownSite(site)
            }
            var endpoints: [BackendEndpoint] = []
            for url in urls {
                switch BackendEndpoint.parse(url) {
                case .failure(let failure):
                    throw ProxyConfigurationError.invalidPool(site: site, pool: url, reason: failure.reason)
                case .success(let endpoint):
                    if let first = endpoints.first, first.scheme != endpoint.scheme {
                        throw ProxyConfigurationError.mixedSchemes(site: site)
                    }
                    if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
                }
            }
            var upstream: UpstreamSettings?
            if endpoints.contains(where: { $0.scheme == .https }), current.upstream.tlsContext == nil {
                var settings = current.upstream
                do {
                    settings.tlsContext = try configuration.upstream.tls.makeContext()
                } catch {
                    throw ProxyServerError.tls(reason: "upstream: \(error)")
                }
                upstream = settings
            }
            let known = Dictionary(current.sites[index].backends.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            let now = NIODeadline.now()
            let backends = endpoints.map { endpoint in
                let key = BackendKey(site: site, endpoint: endpoint)
                return known[key] ?? Backend(key: key, metrics: BackendMetrics(site: site, backend: endpoint.description, factory: metricsFactory), now: now)
            }
            let routing = current.replacingBackends(ofSiteAt: index, with: backends, upstream: upstream)
            try await runtime.health.configure(
                targets: healthTargets(routing, configuration: configuration),
                settings: healthSettings(configuration, tlsContext: routing.upstream.tlsContext)
            ).get()
            install(routing)
            await retire(from: current, keeping: routing)
        }
    }

    /// Installs `cache` as the response cache every new `GET` and `HEAD` request is looked up
    /// in before it is routed, or removes it (`nil`); requests in flight finish with the cache
    /// they started with. Nothing else changes; a ``reconfigure(_:)`` keeps the cache.
    public func setResponseCache(_ cache: (any ResponseCache)?) async {
        await control.withLock {
            install(runtime.routing.replacingCache(cache))
        }
    }

    /// Every site and backend with health, calls, failures, downtime, latency and load.
    public func status() -> ProxyStatus {
        let routing = runtime.routing
        let now = NIODeadline.now()
        return ProxyStatus(
            sites: routing.sites.map { site in
                ProxyStatus.Site(name: site.name, backends: site.backends.map { $0.status(now: now) })
            }
        )
    }

    // MARK: Applying a configuration

    private func apply(_ configuration: ProxyConfiguration) async throws {
        let resolved = try configuration.validate()
        let upstreamTLS: NIOSSLContext?
        if resolved.contains(where: { $0.backends.contains { $0.scheme == .https } }) {
            do {
                upstreamTLS = try configuration.upstream.tls.makeContext()
            } catch {
                throw ProxyServerError.tls(reason: "upstream: \(error)")
            }
        } else {
            upstreamTLS = nil
        }
        let routing = makeRouting(configuration, resolved: resolved, tlsContext: upstreamTLS)
        try await runtime.health.configure(
            targets: healthTargets(routing, configuration: configuration),
            settings: healthSettings(configuration, tlsContext: upstreamTLS)
        ).get()
        // New backends start offline; give their first check a moment so that a start or a
        // reconfiguration does not answer 502 while healthy backends are still being probed.
        let newKeys = routing.sites.flatMap { $0.backends.map(\.key) }
        let limit = min(TimeAmount(configuration.health.timeout), .seconds(2))
        try await runtime.health.firstChecks(of: newKeys, limit: limit).get()
        let previous = runtime.routing
        install(routing)
        do {
            try await rebindListeners(configuration.listeners, routing: routing)
        } catch {
            await retire(from: previous, keeping: routing)
            throw error
        }
        await retire(from: previous, keeping: routing)
    }

    /// Installs `routing` for the configured listeners and, with each one's routes, for the
    /// listeners with virtual hosts of their own.
    private func install(_ routing: Routing) {
        runtime.install(routing)
        let own = state.withLockedValue { state in
            state.listeners.compactMap { listening in
                listening.tables.flatMap { tables in listening.listener.virtualHosts.map { (tables, $0) } }
            }
        }
        for (tables, virtualHosts) in own {
            tables.install(routing.replacingRoutes(with: virtualHosts))
        }
    }

    private func healthSettings(_ configuration: ProxyConfiguration, tlsContext: NIOSSLContext?) -> HealthChecker.Settings {
        HealthChecker.Settings(
            interval: TimeAmount(configuration.health.interval),
            timeout: TimeAmount(configuration.health.timeout),
            optimistic: configuration.health.optimistic,
            tlsContext: tlsContext
        )
    }

    /// Retires the backends of `previous` that `current` no longer has: no pooled connection
    /// to them stays, and their metrics go.
    private func retire(from previous: Routing, keeping current: Routing) async {
        let kept = Set(current.backends.map { ObjectIdentifier($0) })
        let retired = previous.backends.filter { !kept.contains(ObjectIdentifier($0)) }
        guard !retired.isEmpty else { return }
        for backend in retired {
            backend.retire()
        }
        for done in runtime.pools.retire(retired) {
            try? await done.get()
        }
    }

    private func makeRouting(_ configuration: ProxyConfiguration, resolved: [ResolvedSite], tlsContext: NIOSSLContext?) -> Routing {
        var known: [BackendKey: Backend] = [:]
        for site in runtime.routing.sites {
            for backend in site.backends { known[backend.key] = backend }
        }
        let now = NIODeadline.now()
        let sites = resolved.enumerated().map { position, site in
            Routing.Site(
                name: site.name,
                backends: site.backends.map { endpoint in
                    let key = BackendKey(site: site.name, endpoint: endpoint)
                    return known[key]
                        ?? Backend(
                            key: key,
                            metrics: BackendMetrics(site: site.name, backend: endpoint.description, factory: metricsFactory),
                            now: now
                        )
                },
                routedOnly: configuration.sites[position].routedOnly
            )
        }
        let intervalSeconds = Int(configuration.health.interval.components.seconds)
        return Routing(
            sites: sites,
            policy: configuration.balance,
            retryAttempts: configuration.retry.attempts,
            upstream: UpstreamSettings(
                connectTimeout: TimeAmount(configuration.upstream.connectTimeout),
                idleTimeout: TimeAmount(configuration.upstream.idleTimeout),
                maxIdlePerBackend: configuration.upstream.maxIdlePerBackend,
                responseTimeout: TimeAmount(configuration.upstream.responseTimeout),
                tlsContext: tlsContext
            ),
            retryAfterSeconds: max(1, intervalSeconds),
            trace: configuration.trace.enabled ? TraceFilter(configuration.trace) : nil,
            limits: ConnectionLimits(
                maxHeaderBytes: configuration.limits.maxHeaderBytes,
                headerReadTimeout: TimeAmount(configuration.limits.headerReadTimeout),
                idleTimeout: TimeAmount(configuration.limits.idleTimeout),
                maxConnections: configuration.limits.maxConnections
            ),
            allowsConnect: configuration.allowConnect,
            cache: runtime.routing.cache,
            // Checked by ``ProxyConfiguration/validate()`` before a configuration gets here.
            routes: configuration.routes.isEmpty && configuration.defaultSite == nil
                ? nil : try? HostRoutes(configuration.routes, defaultSite: configuration.defaultSite, sites: resolved.map(\.name))
        )
    }

    /// The health check of each backend; the last site in failover order uses `readPath` when
    /// set, as sidekick checks a failover site for read readiness.
    private func healthTargets(_ routing: Routing, configuration: ProxyConfiguration) -> [HealthChecker.Target] {
        routing.sites.enumerated().flatMap { position, site in
            let isLast = position == routing.failoverSites - 1 && routing.failoverSites > 1
            let path = isLast ? (configuration.health.readPath ?? configuration.health.path) : configuration.health.path
            return site.backends.map { HealthChecker.Target(backend: $0, path: path, port: configuration.health.port) }
        }
    }

    // MARK: Listeners

    /// Keeps bound listeners that are still wanted, closes the others, binds the new ones.
    /// Each bound listener serves at most one wanted entry: identical settings, or a port-0
    /// listener whose chosen port is now asked for explicitly.
    private func rebindListeners(_ wanted: [ProxyConfiguration.Listener], routing: Routing) async throws {
        let (assigned, removed) = state.withLockedValue { state -> ([Int: Listening], [Listening]) in
            var available = state.listeners
            var assigned: [Int: Listening] = [:]
            // Explicit ports first, so a port-0 listener goes to the entry naming its port
            // rather than to another port-0 entry.
            for (exact, explicitPorts) in [(true, true), (false, true), (true, false)] {
                for (index, listener) in wanted.enumerated() where assigned[index] == nil && (listener.port != 0) == explicitPorts {
                    if let match = available.firstIndex(where: { $0.serves(listener, exactly: exact) }) {
                        assigned[index] = available.remove(at: match)
                    }
                }
            }
            // Listeners no longer wanted leave the state first, so closing them is not taken for a failure.
            state.listeners.removeAll { listening in available.contains { $0.channel === listening.channel } }
            return (assigned, available)
        }
        for listening in removed {
            try? await listening.channel.close()
            // Connections it accepted finish what they are doing; requests they send after it
            // get 404, as its virtual hosts are gone.
            listening.tables?.install(routing.replacingRoutes(with: .init(routes: [])))
        }
        var bound: [Int: Listening] = [:]
        do {
            for (index, listener) in wanted.enumerated() where assigned[index] == nil {
                let tables = listener.virtualHosts.map { RoutingInForce(routing.replacingRoutes(with: $0)) }
                bound[index] = Listening(listener: listener, channel: try await bind(listener, tables: tables ?? runtime.main), tables: tables)
            }
        } catch {
            for listening in bound.values {
                try? await listening.channel.close()
            }
            throw error
        }
        let kept = state.withLockedValue { state -> [(RoutingInForce, ProxyConfiguration.VirtualHosts)] in
            state.listeners = wanted.indices.compactMap { index in
                guard var listening = assigned[index] else { return bound[index] }
                // A port-0 listener keeps the port it was given; its virtual hosts are the wanted ones.
                listening.listener.virtualHosts = wanted[index].virtualHosts
                return listening
            }
            return wanted.indices.compactMap { index in
                assigned[index].flatMap { listening in listening.tables.flatMap { tables in wanted[index].virtualHosts.map { (tables, $0) } } }
            }
        }
        for (tables, virtualHosts) in kept {
            tables.install(routing.replacingRoutes(with: virtualHosts))
        }
    }

    private func bind(_ listener: ProxyConfiguration.Listener, tables: RoutingInForce) async throws -> any Channel {
        let certificate: ServerCertificate?
        if let tls = listener.tls {
            do {
                certificate = try ServerCertificate(tls, logger: logger)
            } catch {
                throw ProxyServerError.tls(reason: "\(tls.certificatePath): \(error)")
            }
        } else {
            certificate = nil
        }
        let runtime = self.runtime
        let connections = self.connections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that half-closes after its request still gets the response (see
            // ``ProxyHandler``); over TLS a close is a close_notify, and NIOSSL closes.
            .childChannelOption(.allowRemoteHalfClosure, value: certificate == nil)
            .childChannelInitializer { channel in
                guard connections.admit(channel, limit: runtime.routing.limits.maxConnections) else {
                    return channel.eventLoop.makeFailedFuture(ProxyServerError.tooManyConnections)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try ClientPipeline.configure(channel, runtime: runtime, tables: tables, certificate: certificate)
                }
            }
        let hosts = listener.host.isEmpty ? ["::", "0.0.0.0"] : [listener.host]
        var lastError: (any Error)?
        for host in hosts {
            do {
                let channel = try await bootstrap.bind(host: host, port: listener.port).get()
                logger.info("proxy listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? host)"])
                watch(channel, address: "\(listener.host):\(listener.port)")
                if let certificate {
                    let interval = TimeAmount(certificate.tls.reloadInterval)
                    let reload = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                        certificate.reloadIfChanged()
                    }
                    channel.closeFuture.whenComplete { _ in reload.cancel() }
                }
                return channel
            } catch {
                lastError = error
            }
        }
        throw ProxyServerError.bindFailed(address: "\(listener.host):\(listener.port)", reason: "\(lastError.map { "\($0)" } ?? "unknown")")
    }

    /// A listener closing while the proxy runs (not by reconfiguration) is a runtime failure:
    /// the proxy shuts down and ``run()`` throws.
    private func watch(_ channel: any Channel, address: String) {
        channel.closeFuture.whenComplete { [self] _ in
            let unexpected = state.withLockedValue { state -> Bool in
                guard state.lifecycle == .running, state.listeners.contains(where: { $0.channel === channel }) else { return false }
                state.runtimeError = .listenerFailed(address: address)
                return true
            }
            if unexpected {
                logger.error("listener closed unexpectedly", metadata: ["address": "\(address)"])
                stopping.succeed()
            }
        }
    }
}
