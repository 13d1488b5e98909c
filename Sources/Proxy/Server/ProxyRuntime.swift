import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// What every connection handler of a running proxy shares: the routing table in force, the
/// upstream pools, the health checker to tell of failures, and the trace sink.
final class ProxyRuntime: Sendable {
    let logger: Logger
    let traceSink: any TraceSink
    let pools: UpstreamPools
    let health: HealthChecker
    let retries: Counter
    /// The table of the configured listeners; a listener with its own virtual hosts has its own
    /// ``RoutingInForce``, derived from this one whenever it changes.
    let main: RoutingInForce

    init(routing: Routing, health: HealthChecker, logger: Logger, metricsFactory: any MetricsFactory, traceSink: any TraceSink) {
        self.main = RoutingInForce(routing)
        self.health = health
        self.logger = logger
        self.traceSink = traceSink
        self.retries = Counter(label: "retries_total", factory: metricsFactory)
        self.pools = UpstreamPools(errors: UpstreamProtocolErrors(factory: metricsFactory, logger: logger))
    }

    /// The routing table of the configured listeners for a new request.
    var routing: Routing {
        main.routing
    }

    func install(_ routing: Routing) {
        main.install(routing)
    }

    /// A transport error while proxying to `backend`: it goes offline now, and stays so until
    /// the health checker sees it pass a check (sidekick's `ErrorHandler`).
    func proxyFailed(_ backend: Backend) {
        backend.takeOffline(now: .now())
        health.proxyFailed(backend.key)
    }

    func trace(_ record: TraceRecord, filter: TraceFilter?, isInternal: Bool) {
        guard let filter, filter.includes(status: record.status, isInternal: isInternal) else { return }
        traceSink.write(record.json)
    }
}
