/// What a balance policy knows of one candidate backend when it chooses.
public struct BackendLoad: Sendable, Equatable {
    /// Requests sent to the backend and not yet answered in full, over all connections.
    public var inFlight: Int
    /// The backend's latency average in seconds (see ``LatencyEWMA``); 0 when unknown.
    public var latency: Double

    public init(inFlight: Int, latency: Double = 0) {
        self.inFlight = inFlight
        self.latency = latency
    }
}
