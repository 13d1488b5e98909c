import Plugins

/// Why a reload left part of the new file unapplied, as logged and listed under `config.last_reload.errors` in
/// `/v1/status`.
enum ReloadError: Error, CustomStringConvertible {
    /// `admin.listen` changed and the new address could not be bound: the listener serves on at the old one, which
    /// stays the configured address, so the next reload tries the new one again.
    case adminListener(any Error)
    /// The roles' part of the reload (``RoleHost/reload(_:shutdownGrace:)``).
    case roles(ReloadFailure)

    var description: String {
        switch self {
        case .adminListener(let error): String(describing: error)
        case .roles(let failure): failure.description
        }
    }
}
