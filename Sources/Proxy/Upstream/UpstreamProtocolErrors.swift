import Logging
import Metrics

/// Counts and logs what a backend connection did that HTTP/1.1 does not allow, each time the
/// connection is closed for it: `outrider_proxy_upstream_protocol_errors_total{reason}`.
///
/// Every such connection is closed rather than reused, because the bytes it carries could be
/// read as the response to a later request, perhaps another client's.
final class UpstreamProtocolErrors: Sendable {
    enum Reason: String, CaseIterable, Sendable {
        /// Bytes arrived while no request was outstanding: the connection idled in the pool, or
        /// waited after a response to settle (RFC 9112 9.3.2 lets a server close an idle
        /// connection, never write to it).
        case bytesWhileIdle = "bytes_while_idle"
        /// Bytes followed a response in the same read, past the end its framing gives.
        case bytesAfterResponse = "bytes_after_response"
        /// A response that could not be read: bad syntax, framing or size.
        case malformedResponse = "malformed_response"
        /// A `101 Switching Protocols` that answered no request to upgrade.
        case unaskedSwitch = "unasked_switch"
    }

    private let counters: [Counter]
    private let logger: Logger

    init(factory: any MetricsFactory, logger: Logger) {
        self.counters = Reason.allCases.map { reason in
            Counter(label: "upstream_protocol_errors_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.logger = logger
    }

    func record(_ reason: Reason, backend: BackendEndpoint, detail: String? = nil) {
        counters[Reason.allCases.firstIndex(of: reason)!].increment()
        var metadata: Logger.Metadata = ["backend": "\(backend)", "reason": "\(reason.rawValue)"]
        if let detail {
            metadata["detail"] = "\(detail)"
        }
        logger.warning("backend connection closed: protocol error", metadata: metadata)
    }
}
