import Logging
import NIOCore
import NIOSSL
import Synchronization

/// What the TLS handshake of one peer connection found: the verdict on the client certificate, which the
/// handshake itself does not refuse — the peer routes answer an unverified caller 401 with the reason, as nginx
/// with `ssl_verify_client on` completes the handshake and answers "400 No required SSL certificate was sent",
/// so that the caller learns why and the refusal is counted per route —; and the handshakes that fail all the
/// same (not TLS at all, no common cipher), counted and logged here since they never reach a route.
final class PeerHandshakeWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let metrics: CoordinatorMetrics
    let logger: Logger

    private struct Found {
        /// Nil until the handshake's verification ran; it does not run when the client sends no certificate.
        var verdict: PeerClientVerifier.Verdict?
        var refusalLogged = false
    }

    private let found = Mutex(Found())

    init(metrics: CoordinatorMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    /// Called by the handshake's verification with its verdict.
    func record(_ verdict: PeerClientVerifier.Verdict) {
        found.withLock { $0.verdict = verdict }
    }

    /// The client certificate's verdict; `.missing` when the client presented none.
    var verdict: PeerClientVerifier.Verdict {
        found.withLock { $0.verdict ?? .missing }
    }

    /// True the first time it is asked, so that a refused connection is logged once however many requests it
    /// sends.
    func firstRefusal() -> Bool {
        found.withLock { found in
            defer { found.refusalLogged = true }
            return !found.refusalLogged
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case NIOSSLError.handshakeFailed(let reason) = error {
            metrics.peerRequest(kind: "tls", result: "unauthorized")
            logger.warning("peer connection refused: TLS handshake failed", metadata: [
                "remote": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)",
            ])
        }
        context.fireErrorCaught(error)
    }
}
