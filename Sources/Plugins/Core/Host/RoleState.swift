/// Where a role is in its life, as `/v1/status` reports it.
public enum RoleState: Sendable, Equatable, CustomStringConvertible {
    case starting
    case running
    case stopping
    /// Stopped because it was removed from the file or the daemon is stopping.
    case stopped
    /// Present in the file with `enabled: false`.
    case disabled
    case failed(String)

    public var description: String {
        switch self {
        case .starting: "starting"
        case .running: "running"
        case .stopping: "stopping"
        case .stopped: "stopped"
        case .disabled: "disabled"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}

/// A role's state and status fragment.
public struct RoleReport: Sendable {
    public var name: String
    public var state: RoleState
    public var status: JSONValue?
}
