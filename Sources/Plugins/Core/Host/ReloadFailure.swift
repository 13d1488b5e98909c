/// Why a reload left part of the new file unapplied: one entry of ``ReloadOutcome/failures``, logged and shown in
/// `/v1/status`.
public enum ReloadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The daemon's graceful stop began before the reload was done: nothing more is started or changed.
    case daemonStopping
    /// The new file's roles use each other's capabilities in a cycle (`check-config` refuses such a file first).
    case capabilityCycle
    /// The role could not take its new settings and runs on with the old ones.
    case keptPreviousSettings(role: String, reason: String)
    /// The role failed while taking its new settings. It stays failed with its old declaration, so that the next
    /// reload, even of the same file, tries again.
    case failedWhileReconfiguring(role: String)
    /// A new, restarted or previously failed role did not start.
    case notStarted(RoleStartFailure)

    public var description: String {
        switch self {
        case .daemonStopping: "the daemon is stopping"
        case .capabilityCycle: "the roles' capabilities depend on each other in a cycle"
        case .keptPreviousSettings(let role, let reason): "role \(role) kept its previous settings: \(reason)"
        case .failedWhileReconfiguring(let role): "role \(role) failed while taking its new settings; the next reload starts it again"
        case .notStarted(let failure): failure.description
        }
    }
}
