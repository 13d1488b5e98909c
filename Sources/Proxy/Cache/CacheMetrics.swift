import Metrics
import NIOConcurrencyHelpers

/// The cache's metrics, created once on the injected factory (the daemon's adds the
/// `outrider_cache_` prefix), and the same counts kept for `/v1/cache/stats`.
public final class CacheMetrics: Sendable {
    /// How a request went, the `result` of `requests_total`.
    public enum Result: String, Sendable, CaseIterable {
        /// Served from the store without asking the backend.
        case hit
        /// Forwarded and stored.
        case miss
        /// Served stale (`max-stale`, `stale-while-revalidate`, `stale-if-error`).
        case stale
        /// Validated with the backend (a `304`) and served from the store.
        case revalidated
        /// The store was skipped: down, slow or failing, or the request is not for a cache.
        case bypass
        /// Forwarded; the response may not be stored.
        case uncacheable

        /// Its place in `allCases`, where its counter and count are kept: every request counts one, and an array
        /// costs less than a dictionary.
        var index: Int {
            switch self {
            case .hit: 0
            case .miss: 1
            case .stale: 2
            case .revalidated: 3
            case .bypass: 4
            case .uncacheable: 5
            }
        }
    }

    /// How a background revalidation (RFC 5861 `stale-while-revalidate`) ended, the `result` of
    /// `background_revalidations_total`.
    public enum Background: String, Sendable, CaseIterable {
        /// The backend answered `304`: the stored response's fields were updated.
        case validated
        /// The backend sent a new response, stored in place of the stale one.
        case replaced
        /// The backend's new response may not be stored; the stale one stays.
        case uncacheable
        /// No backend answered (after the retries), or the answer broke off; the stale one stays.
        case failed

        var index: Int {
            switch self {
            case .validated: 0
            case .replaced: 1
            case .uncacheable: 2
            case .failed: 3
            }
        }
    }

    /// By ``Result/index``.
    private let requests: [Counter]
    /// By ``Background/index``.
    private let backgroundRevalidations: [Counter]
    private let bytesIn: Counter
    private let bytesOut: Counter
    let storeUp: Gauge
    private let storeErrors: Counter
    let storedBytes: Gauge
    private let evictions: Counter
    let storeDuration: Recorder
    private let counts: NIOLockedValueBox<Counts>

    struct Counts {
        /// By ``Result/index``.
        var results = [Int](repeating: 0, count: Result.allCases.count)
        /// By ``Background/index``.
        var background = [Int](repeating: 0, count: Background.allCases.count)
        var bytesIn = 0
        var bytesOut = 0
        var storeErrors = 0
        var evictions = 0
    }

    public init(factory: any MetricsFactory) {
        requests = Result.allCases.map { Counter(label: "requests_total", dimensions: [("result", $0.rawValue)], factory: factory) }
        backgroundRevalidations = Background.allCases.map {
            Counter(label: "background_revalidations_total", dimensions: [("result", $0.rawValue)], factory: factory)
        }
        self.bytesIn = Counter(label: "bytes_total", dimensions: [("direction", "in")], factory: factory)
        self.bytesOut = Counter(label: "bytes_total", dimensions: [("direction", "out")], factory: factory)
        self.storeUp = Gauge(label: "store_up", factory: factory)
        self.storeErrors = Counter(label: "store_errors_total", factory: factory)
        self.storedBytes = Gauge(label: "stored_bytes", factory: factory)
        self.evictions = Counter(label: "evictions_total", factory: factory)
        self.storeDuration = Recorder(label: "store_request_duration_seconds", factory: factory)
        self.counts = NIOLockedValueBox(Counts())
    }

    func count(_ result: Result) {
        requests[result.index].increment()
        counts.withLockedValue { $0.results[result.index] += 1 }
    }

    func count(background: Background) {
        backgroundRevalidations[background.index].increment()
        counts.withLockedValue { $0.background[background.index] += 1 }
    }

    /// Body bytes written into the store (`in`) or served from it (`out`).
    func stored(bytes: Int) {
        bytesIn.increment(by: bytes)
        counts.withLockedValue { $0.bytesIn += bytes }
    }

    func served(bytes: Int) {
        bytesOut.increment(by: bytes)
        counts.withLockedValue { $0.bytesOut += bytes }
    }

    func storeFailed() {
        storeErrors.increment()
        counts.withLockedValue { $0.storeErrors += 1 }
    }

    /// Brings the eviction counter up to the store's own count.
    func evicted(total: Int) {
        let delta: Int = counts.withLockedValue { counts in
            defer { counts.evictions = max(counts.evictions, total) }
            return max(0, total - counts.evictions)
        }
        if delta > 0 { evictions.increment(by: delta) }
    }

    var snapshot: Counts { counts.withLockedValue { $0 } }
}
