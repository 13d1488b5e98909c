import CoreMetrics
import Membership
import Plugins
import Synchronization

/// The role's metrics (names from the issues): the membership's under the registry's `outrider_gossip_` prefix,
/// service discovery's (applications, the generator, seed publishing) under `outrider_discovery_`, as the
/// discovery issue names them.
final class GossipMetrics: Sendable {
    private let factory: any MetricsFactory
    private let discovery: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    private let probeDuration: Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        // The host hands each role a factory prefixed with its name; discovery's metrics take a sibling prefix on
        // the same registry. A factory without a prefix (tests) gets `discovery_` before the name.
        if let prefixed = factory as? PrefixedMetricsFactory {
            self.discovery = PrefixedMetricsFactory(base: prefixed.base, prefix: "outrider_discovery_")
        } else {
            self.discovery = PrefixedMetricsFactory(base: factory, prefix: "discovery_")
        }
        self.probeDuration = Timer(label: "probe_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)], discovery: Bool = false) -> Counter {
        let key = (discovery ? "discovery|" : "") + label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: discovery ? self.discovery : factory)
            counters[key] = counter
            return counter
        }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)], discovery: Bool = false) -> Gauge {
        let key = (discovery ? "discovery|" : "") + label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions, factory: discovery ? self.discovery : factory)
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
        counter("generator_runs_total", [("result", result)], discovery: true).increment()
    }

    /// One publish of this member's address into an S3 seed object: `published`, `conflict` (a write that lost
    /// a race and was redone) or `failed`.
    func seedPublish(_ result: String, count: Int = 1) {
        guard count > 0 else { return }
        counter("seed_publish_total", [("result", result)], discovery: true).increment(by: count)
    }

    /// The reachable backends announcing each application; an application no longer announced goes to 0.
    private let announced = Mutex<Set<String>>([])

    func backends(_ applications: [RoutedApplication]) {
        let names = Set(applications.map(\.name))
        let gone = announced.withLock { announced in
            defer { announced.formUnion(names) }
            return announced.subtracting(names)
        }
        for application in applications {
            gauge("backends", [("application", application.name)], discovery: true).record(application.endpoints.count)
        }
        for name in gone { gauge("backends", [("application", name)], discovery: true).record(0) }
    }

    func members(_ counts: [String: Int]) {
        for status in ["alive", "suspect", "failed", "left"] {
            gauge("members", [("status", status)]).record(counts[status] ?? 0)
        }
    }
}
