import NIOCore
import NIOPosix
import Synchronization

@testable import Plugins

/// Events the test roles record, in order, to assert start and stop order.
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])

    func record(_ event: String) { events.withLock { $0.append(event) } }
    var all: [String] { events.withLock { $0 } }
    func matching(_ prefix: String) -> [String] { all.filter { $0.hasPrefix(prefix) } }
}

extension Capability where Value == String {
    /// What the test roles offer each other: a greeting string.
    static var greeting: Self { .init("greeting") }
}

/// A role for exercising the plugin contract: optionally binds a TCP echo listener, offers or uses the greeting
/// capability, and can be told to fail at start, fail later, or ask for a restart on change.
struct TestRolePlugin: RolePlugin {
    struct Settings: Sendable, Equatable {
        var greeting = "hello"
        var bind = false
        var failStart = false
        var restartOnChange = false
        var limit = 10
        /// `require: true`: the capabilities this plugin reads are required, by this setting.
        var require: Located<Bool>?
        /// `offer: false`: the role offers nothing, whatever its plugin declares.
        var offer = true
    }

    let name: String
    let offers: [AnyCapability]
    /// The capabilities this plugin reads: optional, or required when the settings say `require: true`.
    let reads: [AnyCapability]
    let log: EventLog
    let instances = Instances()
    let hooks = Hooks()

    init(name: String, offers: [AnyCapability] = [], uses reads: [AnyCapability] = [], log: EventLog) {
        self.name = name
        self.offers = offers
        self.reads = reads
        self.log = log
    }

    func uses(for settings: Settings) -> [CapabilityUse] {
        let need: CapabilityUse.Need = settings.require.flatMap { $0.value ? .required(by: $0.location) : nil } ?? .optional
        return reads.map { CapabilityUse($0, need: need) }
    }

    func decode(_ section: ConfigMapping) throws -> Settings {
        var settings = Settings()
        settings.greeting = section.value("greeting", default: settings.greeting)
        settings.bind = section.value("bind", default: false)
        settings.failStart = section.value("fail_start", default: false)
        settings.restartOnChange = section.value("restart_on_change", default: false)
        settings.limit = section.value("limit", default: 10, in: 1...100)
        settings.require = section.located("require", as: Bool.self)
        settings.offer = section.value("offer", default: true)
        if let nested = section.mapping("nested") {
            _ = nested.optional("timeout", as: ConfigDuration.self)
            if let deeper = nested.mapping("deeper") {
                _ = deeper.optional("size", as: ByteSize.self)
                deeper.finish()
            }
            nested.finish()
        }
        return settings
    }

    func summary(of settings: Settings) -> String { "greets \(settings.greeting)" }

    func makeRole(settings: Settings, context: RoleContext) async throws -> any Role<Settings> {
        let role = TestRole(name: name, settings: settings, context: context, offersGreeting: offers.contains(AnyCapability(.greeting)), log: log, hooks: hooks)
        instances.append(role)
        return role
    }

    var latest: TestRole? { instances.all.last }

    final class Instances: Sendable {
        private let roles = Mutex<[TestRole]>([])
        func append(_ role: TestRole) { roles.withLock { $0.append(role) } }
        var all: [TestRole] { roles.withLock { $0 } }
    }

    /// What a test runs inside a role's calls, to hold it there while something else happens.
    final class Hooks: Sendable {
        private let hooks = Mutex<(starting: (@Sendable (TestRole) async -> Void)?, reconfiguring: (@Sendable (TestRole) async -> Void)?)>((nil, nil))

        /// Runs at the beginning of ``TestRole/start()``.
        var whileStarting: (@Sendable (TestRole) async -> Void)? {
            get { hooks.withLock { $0.starting } }
            set { hooks.withLock { $0.starting = newValue } }
        }

        /// Runs in ``TestRole/reconfigure(to:)`` before it applies the settings.
        var whileReconfiguring: (@Sendable (TestRole) async -> Void)? {
            get { hooks.withLock { $0.reconfiguring } }
            set { hooks.withLock { $0.reconfiguring = newValue } }
        }
    }
}

/// Holds a role's call at one of its hooks until the test lets it go, so the test can act while the call is under
/// way.
final class Hold: Sendable {
    private let entered = Completion()
    private let released = Completion()

    /// The hook to install: it marks the call as reached, then waits for ``release()``.
    var hook: @Sendable (TestRole) async -> Void {
        { [entered, released] _ in
            entered.complete()
            await released.wait()
        }
    }

    /// Returns once a call has reached the hook.
    func reached() async { await entered.wait() }

    func release() { released.complete() }
}

final class TestRole: Role, Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let name: String
    let context: RoleContext
    let log: EventLog
    private let hooks: TestRolePlugin.Hooks
    private let offersGreeting: Bool
    private let state: Mutex<(settings: TestRolePlugin.Settings, seen: Capabilities, channel: (any Channel)?)>
    private let stopSignal = AsyncStream<Result<Void, Failure>>.makeStream()

    init(name: String, settings: TestRolePlugin.Settings, context: RoleContext, offersGreeting: Bool, log: EventLog, hooks: TestRolePlugin.Hooks) {
        self.name = name
        self.context = context
        self.log = log
        self.hooks = hooks
        self.offersGreeting = offersGreeting
        state = Mutex((settings, context.capabilities, nil))
    }

    var settings: TestRolePlugin.Settings { state.withLock { $0.settings } }
    var seenCapabilities: Capabilities { state.withLock { $0.seen } }
    var localPort: Int? { state.withLock { $0.channel?.localAddress?.port } }

    func start() async throws {
        await hooks.whileStarting?(self)
        let settings = self.settings
        if settings.failStart {
            log.record("fail-start \(name)")
            throw Failure(description: "told to fail")
        }
        if settings.bind {
            let channel = try await ServerBootstrap(group: context.eventLoopGroup)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            state.withLock { $0.channel = channel }
        }
        context.admin.add(.GET, "/greeting") { [weak self] _ in
            .text(self?.settings.greeting ?? "gone")
        }
        log.record("start \(name)")
    }

    func run() async throws {
        for await outcome in stopSignal.stream {
            try outcome.get()
            return
        }
    }

    /// Makes `run()` throw, as a role failing at runtime would.
    func fail(_ reason: String) {
        stopSignal.continuation.yield(.failure(Failure(description: reason)))
    }

    func drain() async {
        log.record("drain \(name)")
    }

    func shutdown(grace: Duration) async {
        log.record("stop \(name)")
        let channel = state.withLock { $0.channel }
        try? await channel?.close()
        stopSignal.continuation.yield(.success(()))
    }

    func reconfigure(to settings: TestRolePlugin.Settings) async throws -> Reconfiguration {
        await hooks.whileReconfiguring?(self)
        if self.settings.restartOnChange { return .restartRequired }
        state.withLock { $0.settings = settings }
        log.record("reconfigure \(name)")
        return .applied
    }

    func capabilitiesChanged(_ capabilities: Capabilities) async {
        state.withLock { $0.seen = capabilities }
        log.record("capabilities \(name) \(capabilities[.greeting] ?? "none")")
    }

    var offers: CapabilityOffers {
        var offers = CapabilityOffers()
        if offersGreeting, settings.offer { offers.offer(settings.greeting, as: .greeting) }
        return offers
    }

    func status() async -> JSONValue {
        ["greeting": .string(settings.greeting)]
    }
}

final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}
