/// A ``RolePlugin`` with its settings type erased, so plugins of every role can sit in one catalog.
public struct AnyRolePlugin: Sendable {
    public let name: String
    public let offers: [AnyCapability]
    /// ``RolePlugin/serves``.
    public let serves: String?
    private let decodeSection: @Sendable (ConfigMapping) throws -> RoleSettings
    private let summarize: @Sendable (RoleSettings) -> String
    private let usesOf: @Sendable (RoleSettings) -> [CapabilityUse]
    private let make: @Sendable (RoleSettings, RoleContext) async throws -> RunningRole

    public init<Plugin: RolePlugin>(_ plugin: Plugin) {
        name = plugin.name
        offers = plugin.offers
        serves = plugin.serves
        decodeSection = { RoleSettings(try plugin.decode($0)) }
        summarize = { plugin.summary(of: Self.typed($0, for: plugin)) }
        usesOf = { plugin.uses(for: Self.typed($0, for: plugin)) }
        make = { settings, context in
            RunningRole(try await plugin.makeRole(settings: Self.typed(settings, for: plugin), context: context))
        }
    }

    /// Settings decoded by another plugin reaching this one is a bug in the host, not a configuration problem.
    private static func typed<Plugin: RolePlugin>(_ settings: RoleSettings, for plugin: Plugin) -> Plugin.Settings {
        guard let typed = settings.value as? Plugin.Settings else {
            preconditionFailure("settings of \(type(of: settings.value)) given to the \(plugin.name) role")
        }
        return typed
    }

    public func decode(_ section: ConfigMapping) throws -> RoleSettings {
        try decodeSection(section)
    }

    public func summary(of settings: RoleSettings) -> String {
        summarize(settings)
    }

    /// The capabilities this role reads with `settings` (``RolePlugin/uses(for:)``).
    public func uses(of settings: RoleSettings) -> [CapabilityUse] {
        usesOf(settings)
    }

    func makeRole(settings: RoleSettings, context: RoleContext) async throws -> RunningRole {
        try await make(settings, context)
    }
}

/// A role's decoded settings with their type erased; equal when the settings are.
public struct RoleSettings: Sendable, Equatable {
    /// The settings, as the role's plugin decoded them.
    public let value: any Sendable
    private let isEqual: @Sendable (any Sendable) -> Bool

    public init<Settings: Sendable & Equatable>(_ settings: Settings) {
        value = settings
        isEqual = { other in (other as? Settings) == settings }
    }

    public static func == (lhs: RoleSettings, rhs: RoleSettings) -> Bool {
        lhs.isEqual(rhs.value)
    }
}

/// A started ``Role`` with its settings type erased.
final class RunningRole: Sendable {
    private let role: any Role
    private let applySettings: @Sendable (RoleSettings) async throws -> Reconfiguration

    init<Settings>(_ role: any Role<Settings>) {
        self.role = role
        applySettings = { settings in
            guard let typed = settings.value as? Settings else { return .restartRequired }
            return try await role.reconfigure(to: typed)
        }
    }

    func start() async throws { try await role.start() }
    func run() async throws { try await role.run() }
    func drain() async { await role.drain() }
    func shutdown(grace: Duration) async { await role.shutdown(grace: grace) }
    func reconfigure(to settings: RoleSettings) async throws -> Reconfiguration { try await applySettings(settings) }
    func capabilitiesChanged(_ capabilities: Capabilities) async { await role.capabilitiesChanged(capabilities) }
    var offers: CapabilityOffers { role.offers }
    func status() async -> JSONValue { await role.status() }
}
