#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// A listener's TLS context, read again when its certificate or key file changes, so renewed
/// certificates (certbot, cert-manager) take effect without a restart. Connections already
/// open keep the certificate they were accepted with.
final class ServerCertificate: Sendable {
    private struct Loaded {
        var context: NIOSSLContext
        var fingerprint: [FileFingerprint]
    }

    /// What tells a file changed: modification time, size and inode (a rename-into-place swap
    /// changes the inode even within one second).
    struct FileFingerprint: Equatable, Sendable {
        var modified: Int64
        var modifiedNanoseconds: Int64
        var size: Int64
        var inode: UInt64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            #if canImport(Darwin)
            modified = Int64(info.st_mtimespec.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
            #else
            modified = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
            #endif
            size = Int64(info.st_size)
            inode = UInt64(info.st_ino)
        }
    }

    let tls: ProxyConfiguration.ServerTLS
    private let loaded: NIOLockedValueBox<Loaded>
    private let logger: Logger

    init(_ tls: ProxyConfiguration.ServerTLS, logger: Logger) throws {
        self.tls = tls
        self.logger = logger
        let fingerprint = Self.fingerprint(tls)
        self.loaded = NIOLockedValueBox(Loaded(context: try tls.makeContext(), fingerprint: fingerprint))
    }

    /// The context for a new connection.
    var context: NIOSSLContext {
        loaded.withLockedValue { $0.context }
    }

    /// Reloads the files if they changed since the last load. A file caught half-written
    /// fails to load; the old context stays and the next call tries again.
    func reloadIfChanged() {
        let fingerprint = Self.fingerprint(tls)
        guard loaded.withLockedValue({ $0.fingerprint != fingerprint }) else { return }
        do {
            let context = try tls.makeContext()
            loaded.withLockedValue { $0 = Loaded(context: context, fingerprint: fingerprint) }
            logger.info("TLS certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
        } catch {
            logger.warning("TLS certificate reload failed", metadata: ["certificate": "\(tls.certificatePath)", "error": "\(error)"])
        }
    }

    private static func fingerprint(_ tls: ProxyConfiguration.ServerTLS) -> [FileFingerprint] {
        [tls.certificatePath, tls.keyPath].compactMap { FileFingerprint(path: $0) }
    }
}
