import Atomics
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
    private let current: NIOLockedValueBox<Routing>
    /// Which table is in force, by identity: a request can tell that the table the previous
    /// one used still is without taking the lock (see ``routing(after:)``).
    private let currentIdentity: ManagedAtomic<Int>

    init(routing: Routing, health: HealthChecker, logger: Logger, metricsFactory: any MetricsFactory, traceSink: any TraceSink) {
        self.current = NIOLockedValueBox(routing)
        self.currentIdentity = ManagedAtomic(Self.identity(of: routing))
        self.health = health
        self.logger = logger
        self.traceSink = traceSink
        self.retries = Counter(label: "retries_total", factory: metricsFactory)
        self.pools = UpstreamPools(errors: UpstreamProtocolErrors(factory: metricsFactory, logger: logger))
    }

    /// The routing table for a new request.
    var routing: Routing {
        current.withLockedValue { $0 }
    }

    /// The routing table for a new request on a connection whose last request used `last`.
    ///
    /// The identities compared are of live tables: `last` is held by the caller and the table
    /// in force by this runtime, so equal identities are the same table.
    func routing(after last: Routing) -> Routing {
        if currentIdentity.load(ordering: .acquiring) == Self.identity(of: last) {
            return last
        }
        return routing
    }

    func install(_ routing: Routing) {
        current.withLockedValue {
            $0 = routing
            currentIdentity.store(Self.identity(of: routing), ordering: .releasing)
        }
    }

    private static func identity(of routing: Routing) -> Int {
        Int(bitPattern: ObjectIdentifier(routing))
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
