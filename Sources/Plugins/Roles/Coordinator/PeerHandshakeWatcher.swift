import Logging
import NIOCore
import NIOSSL

/// Counts and logs the peer connections refused during the TLS handshake — no client certificate, one not
/// signed by the group's CA, or not TLS at all — which never reach the HTTP routes that count a refused token.
final class PeerHandshakeWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let metrics: CoordinatorMetrics
    let logger: Logger

    init(metrics: CoordinatorMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
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
