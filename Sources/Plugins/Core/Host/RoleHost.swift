import CoreMetrics
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Starts, reconfigures and stops the roles of one process.
///
/// Roles start in capability order (a provider before its users) and stop in reverse; a reload adds, removes and
/// reconfigures roles in place, leaving roles whose settings did not change untouched. A role that fails after
/// start is reported as failed while the others keep running.
public actor RoleHost {
    /// What every role shares.
    public struct Environment: Sendable {
        public var eventLoopGroup: any EventLoopGroup
        /// The registry's factory, without prefix; each role gets it prefixed with `outrider_<role>_`.
        public var metrics: any MetricsFactory
        public var node: NodeIdentity
        public var routes: AdminRouteTable
        public var shutdownGrace: Duration

        public init(
            eventLoopGroup: any EventLoopGroup,
            metrics: any MetricsFactory,
            node: NodeIdentity,
            routes: AdminRouteTable,
            shutdownGrace: Duration
        ) {
            self.eventLoopGroup = eventLoopGroup
            self.metrics = metrics
            self.node = node
            self.routes = routes
            self.shutdownGrace = shutdownGrace
        }
    }

    private struct Slot {
        var declaration: RoleDeclaration
        var state: RoleState
        var role: RunningRole?
        var generation = 0
        var usedFingerprint: [String: Int] = [:]
        var finished = Completion()
        var retire: AsyncStream<Void>.Continuation?
        var shutdownRequested = false
    }

    private let catalog: RoleCatalog
    private var environment: Environment
    private let logger: Logger
    private var slots: [String: Slot] = [:]
    /// Declared role names in start order, then disabled ones.
    private var order: [String] = []
    private var capabilities = Capabilities()
    private var nextGeneration = 1
    private var serviceSink: (@Sendable (ServiceGroupConfiguration.ServiceConfiguration) async -> Void)?
    private var drainDeadline: ContinuousClock.Instant?
    private let draining = Atomic<Bool>(false)
    private let roleUp: [String: Gauge]
    private let roleFailures: [String: Counter]

    public init(catalog: RoleCatalog, environment: Environment, logger: Logger) {
        self.catalog = catalog
        self.environment = environment
        self.logger = logger
        var up: [String: Gauge] = [:]
        var failures: [String: Counter] = [:]
        for name in catalog.names {
            up[name] = Gauge(label: "outrider_role_up", dimensions: [("role", name)], factory: environment.metrics)
            failures[name] = Counter(label: "outrider_role_failures_total", dimensions: [("role", name)], factory: environment.metrics)
        }
        roleUp = up
        roleFailures = failures
    }

    /// True once the daemon has begun its graceful stop: `/healthz` answers 503.
    public nonisolated var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Where services started by later reloads go: the daemon's `ServiceGroup`.
    public func setServiceSink(_ sink: (@Sendable (ServiceGroupConfiguration.ServiceConfiguration) async -> Void)?) {
        serviceSink = sink
    }

    // MARK: Start

    /// Starts the enabled roles in capability order and returns their services, for the `ServiceGroup`. When one
    /// fails to start, the roles already started are stopped again and the failure is thrown.
    public func start(_ declarations: [RoleDeclaration]) async throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let enabled = declarations.filter(\.enabled)
        guard let startOrder = catalog.startOrder(of: enabled) else {
            throw RoleStartFailure(role: enabled.map(\.name).joined(separator: ","), error: CapabilityCycle())
        }
        order = startOrder + declarations.filter { !$0.enabled }.map(\.name)
        for declaration in declarations where !declaration.enabled {
            slots[declaration.name] = Slot(declaration: declaration, state: .disabled)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for name in startOrder {
            guard let declaration = enabled.first(where: { $0.name == name }) else { continue }
            do {
                services.append(try await launch(declaration))
            } catch {
                for started in startOrder[..<services.count].reversed() {
                    await abandon(started)
                }
                throw error
            }
        }
        return services
    }

    struct CapabilityCycle: Error, CustomStringConvertible {
        var description: String { "the roles' capabilities depend on each other in a cycle" }
    }

    /// Builds and starts one role and returns its service.
    private func launch(_ declaration: RoleDeclaration) async throws -> ServiceGroupConfiguration.ServiceConfiguration {
        let name = declaration.name
        guard let plugin = catalog[name] else {
            throw RoleStartFailure(role: name, error: UnknownRole(name: name))
        }
        let generation = nextGeneration
        nextGeneration += 1
        var slot = Slot(declaration: declaration, state: .starting, generation: generation)
        slots[name] = slot
        var roleLogger = Logger(label: "outrider.\(name)")
        roleLogger[metadataKey: "role"] = "\(name)"
        let context = RoleContext(
            eventLoopGroup: environment.eventLoopGroup,
            metrics: PrefixedMetricsFactory(base: environment.metrics, prefix: "outrider_\(name)_"),
            logger: roleLogger,
            node: environment.node,
            admin: environment.routes.routes(for: name),
            capabilities: capabilities,
            shutdownGrace: environment.shutdownGrace
        )
        let uses = catalog.uses(of: declaration)
        let role: RunningRole
        do {
            if let missing = uses.first(where: { $0.isRequired && capabilities.offers[$0.capability.name] == nil }) {
                throw MissingCapability(capability: missing.capability)
            }
            role = try await plugin.makeRole(settings: declaration.settings, context: context)
            try await role.start()
            let offered = role.offers.capabilities
            if offered != Set(plugin.offers) {
                await role.shutdown(grace: .zero)
                throw OffersDisagree(declared: Set(plugin.offers), offered: offered)
            }
        } catch {
            environment.routes.removeAll(role: name)
            let failure = RoleStartFailure(role: name, error: error)
            markFailed(name, generation: generation, reason: failure.reason)
            throw failure
        }
        let (retired, retire) = AsyncStream.makeStream(of: Void.self)
        slot.role = role
        slot.state = .running
        slot.retire = retire
        slot.usedFingerprint = capabilities.fingerprint(of: uses.map(\.capability.name))
        for offer in role.offers.values.values {
            capabilities.offers[offer.capability.name] = .init(capability: offer.capability, provider: name, generation: generation, value: offer.value)
        }
        slots[name] = slot
        roleUp[name]?.record(1)
        logger.info("role started", metadata: ["role": "\(name)"])
        let service = RoleService(
            name: name,
            generation: generation,
            role: role,
            host: self,
            finished: slot.finished,
            retired: retired
        )
        return .init(service: service, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)
    }

    struct UnknownRole: Error, CustomStringConvertible {
        var name: String
        var description: String { "this build has no role named \(name)" }
    }

    /// A required capability's provider is not running (it failed to start, or failed since).
    struct MissingCapability: Error, CustomStringConvertible {
        var capability: AnyCapability
        var description: String { "it needs the \(capability) capability, which no running role offers" }
    }

    /// A role offering other capabilities than its plugin declares: a bug in the role, caught before any user reads
    /// a capability that is not there or misses one that is.
    struct OffersDisagree: Error, CustomStringConvertible {
        var declared: Set<AnyCapability>
        var offered: Set<AnyCapability>
        var description: String {
            "it offers \(Self.list(offered)) but its plugin declares \(Self.list(declared))"
        }

        static func list(_ capabilities: Set<AnyCapability>) -> String {
            capabilities.isEmpty ? "no capability" : capabilities.map(\.name).sorted().joined(separator: ", ")
        }
    }

    // MARK: Reload

    /// Applies a new, already validated set of roles: stops removed and disabled roles, reconfigures changed ones
    /// (restarting those that ask for it), starts new ones, and tells users of capabilities whose provider changed.
    public func reload(_ declarations: [RoleDeclaration], shutdownGrace: Duration) async -> ReloadOutcome {
        var outcome = ReloadOutcome()
        guard !isDraining else {
            outcome.failures.append("the daemon is stopping")
            return outcome
        }
        environment.shutdownGrace = shutdownGrace
        let wanted = Dictionary(declarations.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        guard let newOrder = catalog.startOrder(of: declarations) else {
            outcome.failures.append(CapabilityCycle().description)
            return outcome
        }

        for name in order.reversed() {
            guard let slot = slots[name], wanted[name]?.enabled != true else { continue }
            if slot.role != nil, slot.state == .running || slot.state == .stopping {
                await stop(name, retiring: true)
                outcome.stopped.append(name)
            }
            slot.retire?.finish()
            environment.routes.removeAll(role: name)
            roleUp[name]?.record(0)
            if let declaration = wanted[name] {
                slots[name] = Slot(declaration: declaration, state: .disabled)
            } else {
                slots[name] = nil
            }
        }

        for name in newOrder {
            guard let declaration = wanted[name] else { continue }
            guard let slot = slots[name], slot.state != .disabled else {
                await launchDuringReload(declaration, into: &outcome, as: \.started)
                continue
            }
            if slot.declaration == declaration {
                outcome.unchanged.append(name)
                continue
            }
            guard let role = slot.role, slot.state == .running else {
                // A failed role whose section changed gets another try with the new settings.
                slot.retire?.finish()
                await launchDuringReload(declaration, into: &outcome, as: \.restarted)
                continue
            }
            do {
                switch try await role.reconfigure(to: declaration.settings) {
                case .applied:
                    slots[name]?.declaration = declaration
                    outcome.reconfigured.append(name)
                case .restartRequired:
                    await stop(name, retiring: true)
                    await launchDuringReload(declaration, into: &outcome, as: \.restarted)
                }
            } catch {
                outcome.failures.append("role \(name) kept its previous settings: \(error)")
            }
        }

        for name in declarations.map(\.name) where slots[name] == nil {
            slots[name] = Slot(declaration: wanted[name]!, state: .disabled)
        }
        order = newOrder + declarations.filter { !$0.enabled }.map(\.name)
        await notifyCapabilityUsers()
        return outcome
    }

    private func launchDuringReload(
        _ declaration: RoleDeclaration,
        into outcome: inout ReloadOutcome,
        as list: WritableKeyPath<ReloadOutcome, [String]>
    ) async {
        do {
            let service = try await launch(declaration)
            await serviceSink?(service)
            outcome[keyPath: list].append(declaration.name)
        } catch {
            outcome.failures.append(String(describing: error))
        }
    }

    /// Tells each running role whose used capabilities changed provider.
    private func notifyCapabilityUsers() async {
        for name in order {
            guard let slot = slots[name], let role = slot.role, slot.state == .running else { continue }
            let uses = catalog.uses(of: slot.declaration)
            guard !uses.isEmpty else { continue }
            let fingerprint = capabilities.fingerprint(of: uses.map(\.capability.name))
            guard fingerprint != slot.usedFingerprint else { continue }
            slots[name]?.usedFingerprint = fingerprint
            await role.capabilitiesChanged(capabilities)
        }
    }

    // MARK: Stop

    /// Marks the start of the daemon's graceful stop: `/healthz` turns 503 and the shutdown grace starts counting.
    public func beginDraining() {
        if drainDeadline == nil {
            drainDeadline = .now + environment.shutdownGrace
        }
        draining.store(true, ordering: .relaxed)
    }

    /// The group's graceful shutdown reached this role's service.
    func stopForDaemonShutdown(_ name: String, generation: Int) async {
        beginDraining()
        guard slots[name]?.generation == generation else { return }
        await stop(name, retiring: false)
    }

    /// Stops a role and waits until it has stopped. When the daemon stops, the roles that use the role's
    /// capabilities stop first; when a reload retires it, they keep running and hear that it went.
    private func stop(_ name: String, retiring: Bool) async {
        guard var slot = slots[name], let role = slot.role else { return }
        if !retiring {
            let running = order.compactMap { slots[$0] }.filter { $0.role != nil }.map(\.declaration)
            for dependent in catalog.dependents(of: name, among: running) {
                await stop(dependent, retiring: false)
            }
        }
        slot = slots[name] ?? slot
        if retiring { slot.retire?.finish() }
        if !slot.shutdownRequested {
            slot.shutdownRequested = true
            if slot.state == .running { slot.state = .stopping }
            slots[name] = slot
            logger.info("role stopping", metadata: ["role": "\(name)"])
            await role.shutdown(grace: remainingGrace())
        }
        await slot.finished.wait()
    }

    /// Stops a role whose service never ran, because a later role failed to start.
    private func abandon(_ name: String) async {
        guard let slot = slots[name], let role = slot.role else { return }
        slots[name]?.shutdownRequested = true
        logger.info("role stopping", metadata: ["role": "\(name)"])
        await role.shutdown(grace: .zero)
        slot.retire?.finish()
        slots[name]?.state = .stopped
        slots[name]?.role = nil
        roleUp[name]?.record(0)
        environment.routes.removeAll(role: name)
        capabilities.offers = capabilities.offers.filter { $0.value.provider != name }
    }

    private func remainingGrace() -> Duration {
        guard let deadline = drainDeadline else { return environment.shutdownGrace }
        return max(.zero, deadline - .now)
    }

    /// A role's `run()` returned: stopped when asked to, failed otherwise.
    func roleFinished(_ name: String, generation: Int, error: (any Error)?) async {
        guard let slot = slots[name], slot.generation == generation else { return }
        if let error {
            markFailed(name, generation: generation, reason: String(describing: error))
        } else if slot.shutdownRequested {
            slots[name]?.state = .stopped
            roleUp[name]?.record(0)
            logger.info("role stopped", metadata: ["role": "\(name)"])
        } else {
            markFailed(name, generation: generation, reason: "stopped unexpectedly")
        }
        slots[name]?.role = nil
        environment.routes.removeAll(role: name)
        let withdrawn = capabilities.offers.filter { $0.value.provider == name && $0.value.generation == generation }
        guard !withdrawn.isEmpty else { return }
        for key in withdrawn.keys { capabilities.offers[key] = nil }
        if !isDraining { await notifyCapabilityUsers() }
    }

    private func markFailed(_ name: String, generation: Int, reason: String) {
        guard slots[name]?.generation == generation else { return }
        slots[name]?.state = .failed(reason)
        roleUp[name]?.record(0)
        roleFailures[name]?.increment()
        logger.error("role failed", metadata: ["role": "\(name)", "reason": "\(reason)"])
    }

    // MARK: Status

    /// Every declared role with its state and, while it runs, its status fragment.
    public func reports() async -> [RoleReport] {
        var reports: [RoleReport] = []
        for name in order {
            guard let slot = slots[name] else { continue }
            let status: JSONValue? = slot.state == .running ? await slot.role?.status() : nil
            reports.append(RoleReport(name: name, state: slots[name]?.state ?? slot.state, status: status))
        }
        return reports
    }
}
