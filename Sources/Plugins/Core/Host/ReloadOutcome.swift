/// What a reload did to the roles, for the log and tests.
public struct ReloadOutcome: Sendable, Equatable {
    public var started: [String] = []
    public var stopped: [String] = []
    public var reconfigured: [String] = []
    public var restarted: [String] = []
    public var unchanged: [String] = []
    /// Roles the new file asked to change that could not take it, with why.
    public var failures: [String] = []

    public init() {}

    public var succeeded: Bool { failures.isEmpty }
}
