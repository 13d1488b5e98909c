import Synchronization

/// A value made from files — a TLS context from a certificate and its key — made again when the files change, so
/// that renewed certificates (certbot, cert-manager) take effect without a restart, as nginx does on reload.
///
/// Whoever holds the value keeps it: a connection accepted with the old certificate keeps that certificate.
public final class WatchedFiles<Value: Sendable>: Sendable {
    /// What one check for change did.
    public enum Reload: Sendable {
        case unchanged
        case reloaded
        /// The files changed but could not be loaded (a file caught half-written, a key not matching its
        /// certificate): the previous value stays and the next check tries again.
        case failed(any Error)
    }

    private struct Loaded: Sendable {
        var value: Value
        var fingerprint: [FileFingerprint]
    }

    public let paths: [String]
    private let make: @Sendable () throws -> Value
    private let loaded: Mutex<Loaded>

    /// Makes the value once; its error is the caller's (a listener that cannot start).
    public init(paths: [String], make: @escaping @Sendable () throws -> Value) throws {
        self.paths = paths
        self.make = make
        let fingerprint = FileFingerprint.of(paths)
        self.loaded = Mutex(Loaded(value: try make(), fingerprint: fingerprint))
    }

    /// The value for a new connection.
    public var value: Value {
        loaded.withLock { $0.value }
    }

    /// Makes the value again if a file changed since it was last made.
    @discardableResult
    public func reloadIfChanged() -> Reload {
        let fingerprint = FileFingerprint.of(paths)
        guard loaded.withLock({ $0.fingerprint != fingerprint }) else { return .unchanged }
        do {
            let value = try make()
            loaded.withLock { $0 = Loaded(value: value, fingerprint: fingerprint) }
            return .reloaded
        } catch {
            return .failed(error)
        }
    }
}
