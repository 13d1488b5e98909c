/// How a backend is chosen among the online backends of a site.
public enum BalancePolicy: String, Sendable, Equatable, CaseIterable {
    /// The backend with the fewest requests in flight, ties broken at random; sidekick's policy.
    case least
    /// A backend chosen uniformly at random.
    case random
    /// Each backend in turn.
    case roundRobin = "round_robin"
    /// Power of two choices (Mitzenmacher, 2001) weighed by a latency EWMA: two backends are drawn
    /// at random and the one with the lower `latency × (in flight + 1)` wins, as in Finagle's and
    /// Linkerd's P2C balancers. Unlike `least` it avoids herding onto one backend when several
    /// proxies share the same backends, and it steers away from slow ones.
    case p2cEWMA = "p2c_ewma"
}
