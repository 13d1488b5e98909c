import CoreMetrics
import Foundation

/// The coordinator's metrics, named as the issue lists them (the factory adds `outrider_coordinator_`).
struct CoordinatorMetrics: Sendable {
    let factory: any MetricsFactory
    let isLeader: Gauge
    let leaderChanges: Counter
    let fencingToken: Gauge
    let storeUp: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        isLeader = Gauge(label: "is_leader", factory: factory)
        leaderChanges = Counter(label: "leader_changes_total", factory: factory)
        fencingToken = Gauge(label: "fencing_token", factory: factory)
        storeUp = Gauge(label: "store_up", factory: factory)
        isLeader.record(0)
        storeUp.record(1)
    }

    /// `result`: committed, replayed, conflict, forwarded, refused, failed.
    func put(result: String) {
        Counter(label: "puts_total", dimensions: [("result", result)], factory: factory).increment()
    }

    func putDuration(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        Recorder(label: "put_duration_seconds", dimensions: [], aggregate: true, factory: factory)
            .record(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// `kind`: put, send, broadcast, released, semaphore, tls (a failed handshake: not TLS, no common cipher); `result`: ok, error, unauthorized.
    func peerRequest(kind: String, result: String) {
        Counter(label: "peer_requests_total", dimensions: [("kind", kind), ("result", result)], factory: factory).increment()
    }

    func semaphoreHolders(_ name: String, _ count: Int) {
        Gauge(label: "semaphore_holders", dimensions: [("name", name)], factory: factory).record(count)
    }
}
