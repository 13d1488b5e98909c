import Atomics
import Metrics
import NIOConcurrencyHelpers

/// The metrics of one backend, created once on the injected factory so the data path only
/// increments them. Names carry no prefix: the daemon's factory adds `outrider_proxy_`.
final class BackendMetrics: Sendable {
    let up: Gauge
    let inFlight: Gauge
    let rxBytes: Counter
    let txBytes: Counter
    let healthCheckFailures: Counter
    /// Request durations in seconds, a histogram of `Double`s, counted into once per request:
    /// a recorder rather than a `Timer`, whose `Duration` buckets cost twice as much to count
    /// into, and the factory's handler itself rather than a `Recorder`, a class whose generic
    /// `record` cannot be specialised outside its module and costs as much as the histogram.
    let duration: any RecorderHandler
    private let dimensions: [(String, String)]
    private let factory: any MetricsFactory
    /// `requests_total` per status code, created on first use; codes are few so this stays small.
    private let requests: NIOLockedValueBox<[Int: Counter]>
    /// The same counters for the commonest codes, reached without a lock or a hash: counted
    /// once per request.
    private let common: [ManagedAtomicLazyReference<Counter>]
    private static let commonCodes = [200, 204, 206, 301, 302, 304, 400, 401, 403, 404, 499, 500, 502, 503, 504]

    init(site: String, backend: String, factory: any MetricsFactory) {
        let dimensions = [("site", site), ("backend", backend)]
        self.dimensions = dimensions
        self.factory = factory
        self.up = Gauge(label: "backend_up", dimensions: dimensions, factory: factory)
        self.inFlight = Gauge(label: "backend_in_flight", dimensions: dimensions, factory: factory)
        self.rxBytes = Counter(label: "rx_bytes_total", dimensions: dimensions, factory: factory)
        self.txBytes = Counter(label: "tx_bytes_total", dimensions: dimensions, factory: factory)
        self.healthCheckFailures = Counter(label: "health_check_failures_total", dimensions: dimensions, factory: factory)
        self.duration = factory.makeRecorder(label: "request_duration_seconds", dimensions: dimensions, aggregate: true)
        self.requests = NIOLockedValueBox([:])
        self.common = Self.commonCodes.map { _ in ManagedAtomicLazyReference() }
    }

    /// Removes every metric of the backend from the factory, once the backend is retired: a
    /// site whose backends come and go (from gossip) would otherwise export every backend it
    /// ever had. Requests still in flight to it count into objects no longer exported.
    func destroy() {
        up.destroy()
        inFlight.destroy()
        rxBytes.destroy()
        txBytes.destroy()
        healthCheckFailures.destroy()
        factory.destroyRecorder(duration)
        let counters = requests.withLockedValue { counters in
            defer { counters = [:] }
            return Array(counters.values)
        }
        for counter in counters {
            counter.destroy()
        }
    }

    func requests(code: Int) -> Counter {
        guard let index = Self.commonCodes.firstIndex(of: code) else { return counter(code: code) }
        if let counter = common[index].load() { return counter }
        return common[index].storeIfNilThenLoad(counter(code: code))
    }

    private func counter(code: Int) -> Counter {
        requests.withLockedValue { counters in
            if let counter = counters[code] { return counter }
            let counter = Counter(
                label: "requests_total",
                dimensions: dimensions + [("code", String(code))],
                factory: factory
            )
            counters[code] = counter
            return counter
        }
    }
}
