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
///
/// The host's operations — the start, each reload, each step of the daemon's stop — run one at a time, in the
/// order they were asked for, although each waits on roles in between: an actor alone would let a SIGTERM's stop
/// run in the middle of a reload. The stop is noted at once (``beginShutdown()``), so a reload under way starts
/// nothing more and hands over quickly.
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

    struct Slot {
        var declaration: RoleDeclaration
        var state: RoleState
        var role: RunningRole?
        var generation = 0
        var usedFingerprint: [String: Int] = [:]
        var finished = Completion()
        var retire: AsyncStream<Void>.Continuation?
        var drained = false
        var shutdownRequested = false
    }

    /// When the daemon's stop began, read without the actor: `/healthz` asks on every request, and the stop is
    /// noted from a graceful-shutdown handler, which cannot wait.
    struct StopClock {
        var grace: Duration
        var deadline: ContinuousClock.Instant?
    }

    let catalog: RoleCatalog
    var environment: Environment
    let logger: Logger
    var slots: [String: Slot] = [:]
    /// Declared role names in start order, then disabled ones.
    var order: [String] = []
    var capabilities = Capabilities()
    private var nextGeneration = 1
    var serviceSink: (@Sendable (ServiceGroupConfiguration.ServiceConfiguration) async -> Void)?
    let stopClock: Mutex<StopClock>
    /// Whether every running role has been drained for the daemon's stop.
    var drainedForShutdown = false
    /// Whether an operation holds the turn, and the operations waiting for it, in arrival order.
    var operationUnderWay = false
    private var waitingOperations: [CheckedContinuation<Void, Never>] = []
    /// A provider went away while an operation held the turn; the operation tells its users before it ends.
    var capabilityNoticePending = false
    private let roleUp: [String: Gauge]
    private let roleFailures: [String: Counter]

    public init(catalog: RoleCatalog, environment: Environment, logger: Logger) {
        self.catalog = catalog
        self.environment = environment
        self.logger = logger
        stopClock = Mutex(StopClock(grace: environment.shutdownGrace))
        var up: [String: Gauge] = [:]
        var failures: [String: Counter] = [:]
        for name in catalog.names {
            up[name] = Gauge(label: "outrider_role_up", dimensions: [("role", name)], factory: environment.metrics)
            failures[name] = Counter(label: "outrider_role_failures_total", dimensions: [("role", name)], factory: environment.metrics)
        }
        roleUp = up
        roleFailures = failures
    }

    /// True once the daemon has begun its graceful stop: `/healthz` answers 503, and nothing more is started.
    public nonisolated var isDraining: Bool { stopClock.withLock { $0.deadline != nil } }

    /// Where services started by later reloads go: the daemon's `ServiceGroup`.
    public func setServiceSink(_ sink: (@Sendable (ServiceGroupConfiguration.ServiceConfiguration) async -> Void)?) {
        serviceSink = sink
    }

    // MARK: One operation at a time

    /// Waits until no other operation holds the turn, then holds it until ``endTurn()``.
    func waitForTurn() async {
        guard operationUnderWay else {
            operationUnderWay = true
            return
        }
        // The operation ending hands the turn over: `operationUnderWay` stays true.
        await withCheckedContinuation { waitingOperations.append($0) }
    }

    /// How many operations wait for the turn.
    var operationsWaiting: Int { waitingOperations.count }

    func endTurn() {
        if waitingOperations.isEmpty {
            operationUnderWay = false
        } else {
            waitingOperations.removeFirst().resume()
        }
    }

    // MARK: Start

    /// Starts the enabled roles in capability order and returns their services, for the `ServiceGroup`. When one
    /// fails to start, the roles already started are stopped again and the failure is thrown.
    public func start(_ declarations: [RoleDeclaration]) async throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        await waitForTurn()
        defer { endTurn() }
        let enabled = declarations.filter(\.enabled)
        guard let startOrder = catalog.startOrder(of: enabled) else {
            throw RoleStartFailure(role: enabled.map(\.name).joined(separator: ","), error: ReloadFailure.capabilityCycle)
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
                    await abandon(started, grace: .zero)
                }
                throw error
            }
        }
        return services
    }

    /// Builds and starts one role and returns its service. A role whose start ends after the daemon's stop began
    /// is stopped again at once, so no role is handed to a group that is shutting down.
    func launch(_ declaration: RoleDeclaration) async throws -> ServiceGroupConfiguration.ServiceConfiguration {
        let name = declaration.name
        guard let plugin = catalog[name] else {
            throw RoleStartFailure(role: name, error: UnknownRole(name: name))
        }
        guard !isDraining else { throw ReloadFailure.daemonStopping }
        let generation = nextGeneration
        nextGeneration += 1
        let finished = Completion()
        slots[name] = Slot(declaration: declaration, state: .starting, generation: generation, finished: finished)
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
                await role.drain()
                await role.shutdown(grace: .zero)
                throw OffersDisagree(declared: Set(plugin.offers), offered: offered)
            }
        } catch {
            environment.routes.removeAll(role: name)
            let failure = RoleStartFailure(role: name, error: error)
            markFailed(name, generation: generation, reason: failure.reason)
            throw failure
        }
        if isDraining {
            logger.info("role stopping: the daemon began to stop while it started", metadata: ["role": "\(name)"])
            await role.drain()
            await role.shutdown(grace: remainingGrace())
            environment.routes.removeAll(role: name)
            slots[name]?.state = .stopped
            throw ReloadFailure.daemonStopping
        }
        let (retired, retire) = AsyncStream.makeStream(of: Void.self)
        slots[name]?.role = role
        slots[name]?.state = .running
        slots[name]?.retire = retire
        slots[name]?.usedFingerprint = capabilities.fingerprint(of: uses.map(\.capability.name))
        for offer in role.offers.values.values {
            capabilities.offers[offer.capability.name] = .init(capability: offer.capability, provider: name, generation: generation, value: offer.value)
        }
        roleUp[name]?.record(1)
        logger.info("role started", metadata: ["role": "\(name)"])
        let service = RoleService(
            name: name,
            generation: generation,
            role: role,
            host: self,
            finished: finished,
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

    // MARK: A role's end

    /// A role's `run()` returned: stopped when asked to, failed otherwise. Never waits for the turn: the operation
    /// holding it may be waiting for this very role to finish.
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
        guard !isDraining else { return }
        guard !operationUnderWay else {
            capabilityNoticePending = true
            return
        }
        operationUnderWay = true
        defer { endTurn() }
        await notifyCapabilityUsers()
    }

    func markFailed(_ name: String, generation: Int, reason: String) {
        guard slots[name]?.generation == generation else { return }
        slots[name]?.state = .failed(reason)
        roleUp[name]?.record(0)
        roleFailures[name]?.increment()
        logger.error("role failed", metadata: ["role": "\(name)", "reason": "\(reason)"])
    }

    /// Tells each running role whose used capabilities changed provider, again if another provider went away
    /// meanwhile.
    func notifyCapabilityUsers() async {
        repeat {
            capabilityNoticePending = false
            for name in order where !isDraining {
                guard let slot = slots[name], let role = slot.role, slot.state == .running else { continue }
                let uses = catalog.uses(of: slot.declaration)
                guard !uses.isEmpty else { continue }
                let fingerprint = capabilities.fingerprint(of: uses.map(\.capability.name))
                guard fingerprint != slot.usedFingerprint else { continue }
                slots[name]?.usedFingerprint = fingerprint
                await role.capabilitiesChanged(capabilities)
            }
        } while capabilityNoticePending && !isDraining
    }

    func recordDown(_ name: String) {
        roleUp[name]?.record(0)
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
