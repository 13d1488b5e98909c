/// One entry of `roles:` after decoding: which role, whether it is enabled, and its settings.
public struct RoleDeclaration: Sendable, Equatable {
    public var name: String
    public var enabled: Bool
    public var settings: RoleSettings
    /// The `check-config` line for this role.
    public var summary: String

    public init(name: String, enabled: Bool, settings: RoleSettings, summary: String) {
        self.name = name
        self.enabled = enabled
        self.settings = settings
        self.summary = summary
    }
}
