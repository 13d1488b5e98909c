import NIOCore

/// Counters of one backend, sidekick's `BackendStats`: calls, failures, latency bounds, bytes
/// and downtime. A value, updated under the backend's lock and copied out for ``ProxyStatus``.
struct BackendStatistics: Sendable, Equatable {
    var calls: Int = 0
    var failures: Int = 0
    var minLatency: TimeAmount?
    var maxLatency: TimeAmount?
    var latency = LatencyEWMA()
    var rxBytes: Int = 0
    var txBytes: Int = 0
    /// When the backend last went down, while it is down.
    var downSince: NIODeadline?
    var lastDowntime: TimeAmount = .zero
    var totalDowntime: TimeAmount = .zero

    mutating func recordCall(latency sample: TimeAmount, failed: Bool, rx: Int, tx: Int) {
        calls += 1
        if failed { failures += 1 }
        minLatency = min(minLatency ?? sample, sample)
        maxLatency = max(maxLatency ?? sample, sample)
        latency.record(Double(sample.nanoseconds) / 1e9)
        rxBytes += rx
        txBytes += tx
    }

    mutating func wentDown(at now: NIODeadline) {
        if downSince == nil { downSince = now }
    }

    mutating func cameUp(at now: NIODeadline) {
        guard let since = downSince else { return }
        lastDowntime = now - since
        totalDowntime = totalDowntime + lastDowntime
        downSince = nil
    }

    /// Downtime so far, counting the current outage.
    func downtime(at now: NIODeadline) -> TimeAmount {
        totalDowntime + (downSince.map { now - $0 } ?? .zero)
    }
}
