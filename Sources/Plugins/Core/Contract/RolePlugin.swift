import Logging

/// A role outrider can run — proxy, cache, gossip, coordinator — registered under its name in `roles:`.
///
/// The plugin decodes and validates its own section of the file, and builds the running ``Role`` from it. Roles
/// are ordered by capabilities (``Capability``): a role that offers a capability starts before the roles that use
/// it, and stops after them.
public protocol RolePlugin: Sendable {
    /// The role's settings, decoded from its section. Compared on reload: a role whose settings did not change
    /// is not touched.
    associatedtype Settings: Sendable & Equatable

    /// The key under `roles:`.
    var name: String { get }
    /// The capabilities this role offers once started, whatever its settings; its ``Role/offers`` must hold exactly
    /// these.
    var offers: [AnyCapability] { get }
    /// For a role that does nothing on its own but through its offers (the cache, through the proxy): the role it
    /// serves, named in the `check-config` error when it is enabled and no enabled role uses what it offers.
    var serves: String? { get }

    /// The capabilities a role with `settings` reads, each required or optional. Settings decide: a proxy whose
    /// pools come from gossip requires the membership capability, one with fixed pools does not use it. Give a
    /// required use the position of the setting that needs it (``Located``), which is where `check-config` points
    /// when no enabled role offers the capability.
    func uses(for settings: Settings) -> [CapabilityUse]

    /// Decodes the role's section (with `enabled` already read). Problems are recorded in `section.decoder`;
    /// throw ``ConfigProblemsRecorded`` when the settings cannot be built.
    func decode(_ section: ConfigMapping) throws -> Settings

    /// One line for `outrider check-config`: what this role would do.
    func summary(of settings: Settings) -> String

    /// Builds the role. Nothing is bound or started yet: that happens in ``Role/start()``.
    func makeRole(settings: Settings, context: RoleContext) async throws -> any Role<Settings>
}

extension RolePlugin {
    public var offers: [AnyCapability] { [] }
    public var serves: String? { nil }
    public func uses(for settings: Settings) -> [CapabilityUse] { [] }

    /// The declaration of this role with `settings`, as if read from the file: for roles configured otherwise, such
    /// as `outrider sidekick`'s proxy built from flags.
    public func declaration(of settings: Settings, enabled: Bool = true) -> RoleDeclaration {
        RoleDeclaration(name: name, enabled: enabled, settings: RoleSettings(settings), summary: summary(of: settings))
    }
}

/// What ``Role/reconfigure(to:)`` did with new settings.
public enum Reconfiguration: Sendable, Equatable {
    /// The role runs on with the new settings; its connections were kept.
    case applied
    /// The role cannot take these settings in place; the host stops it and starts a new one.
    case restartRequired
}

/// A running role.
///
/// The host calls ``start()`` once (the role binds its listeners and returns when it serves), then ``run()`` as a
/// service until the role stops. To stop it, the host calls ``drain()`` and then ``shutdown(grace:)``, each once. A
/// role that fails after start throws from ``run()``: it is reported as failed and the other roles keep running.
public protocol Role<Settings>: AnyObject, Sendable {
    associatedtype Settings: Sendable

    /// Binds and connects what the role needs; returns once it serves. A thrown error fails `outrider run` with
    /// exit code 2, so it should name what failed (for example the address already in use).
    func start() async throws

    /// Runs until the role has stopped after ``shutdown(grace:)``; throws if the role fails while running.
    func run() async throws

    /// The role is about to be stopped: stop taking new work and tell the world, while work already taken goes
    /// on — gossip announces that this member leaves, the coordinator hands its lease over, the proxy stops
    /// accepting connections.
    ///
    /// Called once, before ``shutdown(grace:)``, whenever the host stops a running role. When the daemon stops,
    /// every running role is drained, users of a capability before its provider, before any role is asked to shut
    /// down: a role's providers still run while it drains, and none of the others has stopped yet. Return promptly;
    /// the time spent here counts against `shutdown_grace`.
    func drain() async

    /// Stops accepting new work, lets work in flight finish for up to `grace`, then closes what is left.
    /// Called once; ``run()`` returns when the role has stopped.
    func shutdown(grace: Duration) async

    /// Takes new settings in place, or asks to be restarted.
    func reconfigure(to settings: Settings) async throws -> Reconfiguration

    /// Called when a capability this role uses appears, disappears or is replaced by a new provider, after the
    /// change: a provider that went away has already stopped (see ``Capabilities`` for what a user may assume
    /// meanwhile).
    func capabilitiesChanged(_ capabilities: Capabilities) async

    /// What this role offers to the others once started: exactly the capabilities its plugin declares in
    /// ``RolePlugin/offers``, read once after ``start()``.
    var offers: CapabilityOffers { get }

    /// The role's fragment of `/v1/status`.
    func status() async -> JSONValue
}

extension Role {
    public func drain() async {}
    public func capabilitiesChanged(_ capabilities: Capabilities) async {}
    public var offers: CapabilityOffers { CapabilityOffers() }
}
