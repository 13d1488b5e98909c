import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// One backend of one site at run time: whether it is online, how loaded it is, its
/// statistics and metrics. Shared by every event loop; the hot fields are atomics.
final class Backend: Sendable {
    let key: BackendKey
    let metrics: BackendMetrics
    private let online = ManagedAtomic<Bool>(false)
    private let inFlightCount = ManagedAtomic<Int>(0)
    private let retired = ManagedAtomic<Bool>(false)
    private let statistics = NIOLockedValueBox(BackendStatistics())

    init(key: BackendKey, metrics: BackendMetrics, now: NIODeadline) {
        self.key = key
        self.metrics = metrics
        statistics.withLockedValue { $0.wentDown(at: now) }
        metrics.up.record(0)
    }

    var endpoint: BackendEndpoint { key.endpoint }
    var siteName: String { key.site }

    var isOnline: Bool { online.load(ordering: .relaxed) }

    var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// What the balance policy sees: requests in flight and the latency average.
    var load: BackendLoad {
        BackendLoad(inFlight: inFlight, latency: statistics.withLockedValue { $0.latency.value })
    }

    /// Publishes a health transition decided by the ``HealthCheckSchedule``.
    func setOnline(_ isOnline: Bool, now: NIODeadline) {
        online.store(isOnline, ordering: .relaxed)
        metrics.up.record(isOnline ? 1 : 0)
        statistics.withLockedValue { isOnline ? $0.cameUp(at: now) : $0.wentDown(at: now) }
    }

    /// Marks the backend offline at once, before the health checker has heard of the failure,
    /// so requests already being routed on other event loops avoid it.
    func takeOffline(now: NIODeadline) {
        if online.exchange(false, ordering: .relaxed) {
            metrics.up.record(0)
            statistics.withLockedValue { $0.wentDown(at: now) }
        }
    }

    /// Whether the backend has left its site (see ``retire()``): its connections are closed
    /// rather than pooled.
    var isRetired: Bool { retired.load(ordering: .relaxed) }

    /// Takes the backend out of service for good, once no routing table names it: its
    /// connections are no longer pooled and its metrics are no longer exported.
    func retire() {
        guard !retired.exchange(true, ordering: .relaxed) else { return }
        metrics.destroy()
    }

    func requestStarted() {
        let count = inFlightCount.wrappingIncrementThenLoad(ordering: .relaxed)
        metrics.inFlight.record(count)
    }

    /// Records a finished exchange; `status` is the code the client got.
    func requestFinished(status: Int, latency: TimeAmount, failed: Bool, rx: Int, tx: Int) {
        let count = inFlightCount.wrappingDecrementThenLoad(ordering: .relaxed)
        metrics.inFlight.record(count)
        statistics.withLockedValue { $0.recordCall(latency: latency, failed: failed, rx: rx, tx: tx) }
        metrics.requests(code: status).increment()
        metrics.duration.record(Double(latency.nanoseconds) / 1e9)
        if rx > 0 { metrics.rxBytes.increment(by: rx) }
        if tx > 0 { metrics.txBytes.increment(by: tx) }
    }

    func status(now: NIODeadline) -> ProxyStatus.Backend {
        let stats = statistics.withLockedValue { $0 }
        return ProxyStatus.Backend(
            endpoint: endpoint.description,
            status: isOnline ? "online" : "offline",
            calls: stats.calls,
            failures: stats.failures,
            downtimeSeconds: Double(stats.downtime(at: now).nanoseconds) / 1e9,
            lastDowntimeSeconds: Double(stats.lastDowntime.nanoseconds) / 1e9,
            minLatencySeconds: stats.minLatency.map { Double($0.nanoseconds) / 1e9 },
            maxLatencySeconds: stats.maxLatency.map { Double($0.nanoseconds) / 1e9 },
            inFlight: inFlight,
            rxBytes: stats.rxBytes,
            txBytes: stats.txBytes
        )
    }
}
