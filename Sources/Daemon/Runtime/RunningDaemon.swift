import CoreMetrics
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Plugins
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `outrider run`: loads the file, starts the admin listener and the roles on one event loop group, and runs them
/// in one `ServiceGroup` until SIGTERM or SIGINT; SIGHUP reloads.
actor RunningDaemon {
    /// Command-line settings that win over the file's.
    struct Overrides: Sendable {
        var logLevel: Logger.Level?
        var logFormat: LogOutput.Format?
    }

    enum ExitStatus: Int32 {
        case clean = 0
        case configError = 1
        case startFailure = 2
    }

    private var configuration: OutriderConfiguration
    private let catalog: RoleCatalog
    private let overrides: Overrides
    private let options: Options
    private let output: LogOutput
    private let logger: Logger
    private let host: RoleHost
    private let registry: PrometheusCollectorRegistry
    private let startedAt = Date()
    private var admin: AdminListener?
    private var lastReload: (time: Date, result: String, errors: [String])?
    private let reloadSuccesses: CoreMetrics.Counter
    private let reloadFailures: CoreMetrics.Counter
    private let lastReloadSuccess: CoreMetrics.Gauge
    private let notifier = SystemdNotifier.fromEnvironment()

    private init(
        configuration: OutriderConfiguration,
        catalog: RoleCatalog,
        overrides: Overrides,
        options: Options,
        output: LogOutput,
        host: RoleHost,
        registry: PrometheusCollectorRegistry,
        factory: any MetricsFactory
    ) {
        self.configuration = configuration
        self.catalog = catalog
        self.overrides = overrides
        self.options = options
        self.output = output
        self.host = host
        self.registry = registry
        self.logger = Logger(label: "outrider")
        reloadSuccesses = CoreMetrics.Counter(label: "outrider_config_reloads_total", dimensions: [("result", "success")], factory: factory)
        reloadFailures = CoreMetrics.Counter(label: "outrider_config_reloads_total", dimensions: [("result", "failure")], factory: factory)
        lastReloadSuccess = CoreMetrics.Gauge(label: "outrider_config_last_reload_success_timestamp_seconds", factory: factory)
        lastReloadSuccess.record(Date().timeIntervalSince1970)
    }

    /// How this run differs from `outrider run` with a file.
    struct Options: Sendable {
        /// Whether the admin listener runs; `outrider sidekick` leaves it off unless asked.
        var admin = true
        /// Whether SIGHUP re-reads the file; a configuration built from flags has none.
        var reloadable = true
        /// Services to run beside the roles, such as sidekick's console.
        var extraServices: @Sendable (RoleHost) -> [any Service] = { _ in [] }
    }

    /// Runs the daemon with the file at `configPath` to completion and returns the process exit status.
    static func run(configPath: String, overrides: Overrides, catalog: RoleCatalog) async -> ExitStatus {
        let output = LogOutput(level: overrides.logLevel ?? .info, format: overrides.logFormat ?? .text)
        LoggingSystem.bootstrap { label in OutriderLogHandler(label: label, output: output) }
        let configuration: OutriderConfiguration
        do {
            configuration = try OutriderConfiguration.load(path: configPath, catalog: catalog)
        } catch {
            for diagnostic in error.diagnostics { output.write(diagnostic.description) }
            return .configError
        }
        return await run(configuration: configuration, overrides: overrides, catalog: catalog, output: output, options: Options())
    }

    /// Runs the daemon with a configuration already validated, to completion.
    static func run(
        configuration: OutriderConfiguration,
        overrides: Overrides,
        catalog: RoleCatalog,
        output: LogOutput,
        options: Options
    ) async -> ExitStatus {
        output.update(
            level: overrides.logLevel ?? configuration.logLevel,
            format: overrides.logFormat ?? LogOutput.Format(rawValue: configuration.logFormat.rawValue) ?? .text
        )

        let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // The roles' histograms are recorders of seconds, Prometheus's base unit: the usual
        // buckets, 5 ms to 10 s, instead of the library's 5 to 10,000.
        factory.defaultValueHistogramBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        MetricsSystem.bootstrap(factory)
        CoreMetrics.Gauge(label: "outrider_build_info", dimensions: [("version", OutriderVersion.number)], factory: factory).record(1)

        let routes = AdminRouteTable()
        let host = RoleHost(
            catalog: catalog,
            environment: .init(
                eventLoopGroup: eventLoopGroup,
                metrics: factory,
                node: NodeIdentity(name: configuration.nodeName, version: OutriderVersion.number),
                routes: routes,
                shutdownGrace: configuration.shutdownGrace
            ),
            logger: Logger(label: "outrider")
        )
        let daemon = RunningDaemon(
            configuration: configuration,
            catalog: catalog,
            overrides: overrides,
            options: options,
            output: output,
            host: host,
            registry: registry,
            factory: factory
        )
        let status = await daemon.serve(eventLoopGroup: eventLoopGroup, routes: routes)
        try? await eventLoopGroup.shutdownGracefully()
        return status
    }

    private func serve(eventLoopGroup: any EventLoopGroup, routes: AdminRouteTable) async -> ExitStatus {
        // Trapped before anything is announced, so that a reload right after READY=1 cannot kill the process
        // with SIGHUP's default action.
        let reloadSignals = await UnixSignalsSequence(trapping: .sighup)
        let endpoints = AdminServer.Endpoints(
            metrics: { [registry] in registry.emitToString() + (ProcessMetrics.current()?.exposition ?? "") },
            healthy: { [host] in !host.isDraining },
            status: { [weak self] in await self?.statusDocument() ?? .null },
            routes: routes
        )
        var admin: AdminListener?
        if options.admin {
            do {
                admin = try await AdminListener.bind(configuration.adminListen, endpoints: endpoints, eventLoopGroup: eventLoopGroup, logger: logger)
            } catch {
                output.write("outrider: \(error)")
                return .startFailure
            }
        }
        self.admin = admin

        let roleServices: [ServiceGroupConfiguration.ServiceConfiguration]
        do {
            roleServices = try await host.start(configuration.roles)
        } catch {
            output.write("outrider: \(error)")
            await admin?.stop()
            self.admin = nil
            return .startFailure
        }

        var groupConfiguration = ServiceGroupConfiguration(
            services: (admin.map { [.init(service: $0)] } ?? []) + roleServices
                + options.extraServices(host).map { .init(service: $0) }
                + [.init(service: ReloadSignals(daemon: self, host: host, signals: reloadSignals))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace + .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        await host.setServiceSink { service in await group.addServiceUnlessShutdown(service) }

        let adminAddress = await admin?.localAddress.map(Self.hostAndPort) ?? "off"
        logger.info("outrider started", metadata: [
            "version": "\(OutriderVersion.number)",
            "admin": "\(adminAddress)",
            "roles": "\(configuration.enabledRoles.map(\.name).joined(separator: ","))",
        ])
        notifier?.notify("READY=1")
        do {
            try await group.run()
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
        }
        await host.setServiceSink(nil)
        await host.stopRolesLeftRunning()
        self.admin = nil
        logger.info("outrider stopped")
        return .clean
    }

    /// Re-reads the file. An invalid file changes nothing; a valid one is applied role by role.
    func reload() async {
        guard options.reloadable else {
            logger.notice("SIGHUP ignored: this configuration comes from the command line, not a file")
            return
        }
        // MONOTONIC_USEC lets systemd 253+ match the reload to its request (Type=notify-reload).
        notifier?.reloading()
        defer { notifier?.notify("READY=1") }
        logger.info("reloading configuration", metadata: ["path": "\(configuration.path)"])
        let next: OutriderConfiguration
        do {
            next = try OutriderConfiguration.load(path: configuration.path, catalog: catalog)
        } catch {
            recordReload(succeeded: false, errors: error.diagnostics.map(\.description))
            for diagnostic in error.diagnostics {
                logger.error("configuration not reloaded: \(diagnostic)")
            }
            return
        }
        output.update(
            level: overrides.logLevel ?? next.logLevel,
            format: overrides.logFormat ?? LogOutput.Format(rawValue: next.logFormat.rawValue) ?? .text
        )
        var errors: [ReloadError] = []
        var applied = next
        if next.adminListen != configuration.adminListen {
            do {
                try await admin?.rebind(to: next.adminListen)
            } catch {
                errors.append(.adminListener(error))
                applied.adminListen = configuration.adminListen
            }
        }
        for (setting, changed) in [
            ("event_loop.threads", next.eventLoopThreads != configuration.eventLoopThreads),
            ("node.name", next.nodeName != configuration.nodeName),
        ] where changed {
            logger.warning("\(setting) changed; it takes effect when outrider restarts")
        }
        let outcome = await host.reload(next.roles, shutdownGrace: next.shutdownGrace)
        errors += outcome.failures.map(ReloadError.roles)
        configuration = applied
        recordReload(succeeded: errors.isEmpty, errors: errors.map(\.description))
        logger.info("configuration reloaded", metadata: [
            "started": "\(outcome.started)", "stopped": "\(outcome.stopped)",
            "reconfigured": "\(outcome.reconfigured)", "restarted": "\(outcome.restarted)",
            "unchanged": "\(outcome.unchanged)",
        ])
        for error in errors { logger.error("reload: \(error)") }
    }

    private func recordReload(succeeded: Bool, errors: [String]) {
        lastReload = (Date(), succeeded ? "success" : "failure", errors)
        if succeeded {
            reloadSuccesses.increment()
            lastReloadSuccess.record(Date().timeIntervalSince1970)
        } else {
            reloadFailures.increment()
        }
    }

    func statusDocument() async -> JSONValue {
        var roles: [(String, JSONValue)] = []
        for report in await host.reports() {
            var entry: [(String, JSONValue)] = [("state", .string(report.state.description))]
            if let status = report.status { entry.append(("status", status)) }
            roles.append((report.name, .object(entry)))
        }
        var reload: JSONValue = .null
        if let lastReload {
            reload = [
                "time": .string(ISO8601DateFormatter().string(from: lastReload.time)),
                "result": .string(lastReload.result),
                "errors": .array(lastReload.errors.map { .string($0) }),
            ]
        }
        return [
            "node": .string(configuration.nodeName),
            "version": .string(OutriderVersion.number),
            "uptime_seconds": .number((Date().timeIntervalSince(startedAt) * 1000).rounded() / 1000),
            "draining": .bool(host.isDraining),
            "config": ["path": .string(configuration.path), "last_reload": reload],
            "roles": .object(roles),
        ]
    }

    static func hostAndPort(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        let port = address.port ?? 0
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    nonisolated func stopNotice() {
        notifier?.stopping()
    }
}

/// Turns SIGHUP into reloads, and begins the daemon's stop when the group's graceful shutdown reaches it: it is the
/// last service the group starts with, so it is the first of those to hear of it.
///
/// The stop is noted at once, from the handler, so that a reload under way starts nothing more; the reload itself
/// is not cancelled but finishes its step, and the loop ends there. Then every role is drained before the group
/// goes on to stop them.
struct ReloadSignals: Service {
    let daemon: RunningDaemon
    let host: RoleHost
    let signals: UnixSignalsSequence

    func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in signals.cancelOnGracefulShutdown() {
                await daemon.reload()
            }
        } onGracefulShutdown: { [host] in
            host.beginShutdown()
        }
        daemon.stopNotice()
        await host.drain()
    }
}
