import CertificateFiles
import Logging
import NIOCore
import NIOSSL

/// A listener's TLS context, read again when its certificate or key file changes, so renewed
/// certificates (certbot, cert-manager) take effect without a restart. Connections already
/// open keep the certificate they were accepted with.
final class ServerCertificate: Sendable {
    let tls: ProxyConfiguration.ServerTLS
    private let files: WatchedFiles<NIOSSLContext>
    private let logger: Logger

    init(_ tls: ProxyConfiguration.ServerTLS, logger: Logger) throws {
        self.tls = tls
        self.logger = logger
        self.files = try WatchedFiles(paths: [tls.certificatePath, tls.keyPath]) { try tls.makeContext() }
    }

    /// The context for a new connection.
    var context: NIOSSLContext {
        files.value
    }

    /// Reloads the files if they changed since the last load. A file caught half-written
    /// fails to load; the old context stays and the next call tries again.
    func reloadIfChanged() {
        switch files.reloadIfChanged() {
        case .unchanged:
            break
        case .reloaded:
            logger.info("TLS certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
        case .failed(let error):
            logger.warning("TLS certificate reload failed", metadata: ["certificate": "\(tls.certificatePath)", "error": "\(error)"])
        }
    }
}
