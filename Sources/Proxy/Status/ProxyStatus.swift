/// A snapshot of every site and backend, for an operator's status endpoint (sidekick's
/// per-backend `BackendStats`). Durations are in seconds.
public struct ProxyStatus: Sendable, Codable, Equatable {
    public struct Site: Sendable, Codable, Equatable {
        public var name: String
        public var backends: [Backend]
    }

    public struct Backend: Sendable, Codable, Equatable {
        /// `scheme://host:port`.
        public var endpoint: String
        /// `online` or `offline`.
        public var status: String
        public var calls: Int
        public var failures: Int
        /// Total time the backend has been offline since the proxy started checking it.
        public var downtimeSeconds: Double
        public var lastDowntimeSeconds: Double
        public var minLatencySeconds: Double?
        public var maxLatencySeconds: Double?
        public var inFlight: Int
        public var rxBytes: Int
        public var txBytes: Int
    }

    public var sites: [Site]
}
