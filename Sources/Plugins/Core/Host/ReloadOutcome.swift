/// What a reload did to the roles, for the log and tests.
public struct ReloadOutcome: Sendable, Equatable {
    public var started: [String] = []
    public var stopped: [String] = []
    public var reconfigured: [String] = []
    public var restarted: [String] = []
    public var unchanged: [String] = []
    /// What the new file asked for that was not done, with why.
    public var failures: [ReloadFailure] = []

    public init() {}

    public var succeeded: Bool { failures.isEmpty }

    /// Adds `failure` unless it is there already: a stop that interrupts a reload is one failure, not one per role.
    mutating func record(_ failure: ReloadFailure) {
        if !failures.contains(failure) { failures.append(failure) }
    }
}
