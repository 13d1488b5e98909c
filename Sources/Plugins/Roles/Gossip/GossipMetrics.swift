import CoreMetrics
import Membership
import Synchronization

/// The role's metrics (names from the issue; the registry prefixes `outrider_gossip_`).
final class GossipMetrics: Sendable {
    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    private let probeDuration: Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        self.probeDuration = Timer(label: "probe_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions, factory: factory)
            gauges[key] = gauge
            return gauge
        }
    }

    func record(_ event: GossipEvent) {
        switch event {
        case .message(let type, let direction):
            counter("messages_total", [("type", type), ("direction", direction.rawValue)]).increment()
        case .bytes(let count, let direction):
            counter("bytes_total", [("direction", direction.rawValue)]).increment(by: count)
        case .dropped(let reason, _):
            counter("packets_dropped_total", [("reason", reason.rawValue)]).increment()
        case .probe(_, _, let seconds):
            probeDuration.recordNanoseconds(Int64(seconds * 1e9))
        case .suspected:
            counter("suspicions_total", []).increment()
        case .healthScore(let score):
            gauge("health_score", []).record(score)
        default:
            break
        }
    }

    /// One rewrite of `generate`'s file: `applied`, `write_failed`, `check_failed` or `reload_failed`.
    func generatorRun(_ result: String) {
        counter("generator_runs_total", [("result", result)]).increment()
    }

    func members(_ counts: [String: Int]) {
        for status in ["alive", "suspect", "failed", "left"] {
            gauge("members", [("status", status)]).record(counts[status] ?? 0)
        }
    }
}
