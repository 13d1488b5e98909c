import Membership
import Plugins

/// `roles.gossip`, decoded: where this member listens and what it tells the others, its timings, whom it joins,
/// its tags and keys.
public struct GossipSettings: Sendable, Equatable {
    public var bind = ListenAddress(host: "0.0.0.0", port: 7946)
    /// The advertised IP literal and port, resolved when decoding (the first non-loopback address for `0.0.0.0`).
    public var advertiseHost = "127.0.0.1"
    public var advertisePort = 7946
    public var profile: SWIMConfiguration.Profile = .lan
    public var timings = SWIMConfiguration(profile: .lan)
    /// `host[:port]` entries, resolved at each attempt: the short form of a first `static` seed source.
    public var join: [String] = []
    /// `seeds`: where to find the cluster, tried in order after `join` until a join succeeds.
    public var seeds: [SeedSource] = []
    /// The tags announced, with ``applications`` in their `apps` tag (``ApplicationTag``) and `role: backend` when
    /// there are any and no `role` tag is set.
    public var tags: [String: String] = [:]
    /// What this host serves, from `applications` and the files of `applications_dir`, re-read on reload.
    public var applications: [Application] = []
    /// scrimplb's generator: a load balancer's configuration file kept in step with the announced applications.
    public var generate: Generator?
    /// The keyring's keys, the primary first; empty for no encryption.
    public var keys: [[UInt8]] = []
    public var label = ""
    public var leaveTimeout: Duration = .seconds(5)
    /// serf's `ReconnectTimeout`, `TombstoneTimeout` and `ReconnectInterval`: how long failed and left members stay
    /// in the member list, and how often a failed one is tried again.
    public var departures = DepartedMembers.Timeouts.serf

    public init() {}

    /// `join`, then `seeds`: every source the role tries, in order.
    public var seedSources: [SeedSource] {
        (join.isEmpty ? [] : [.addresses(join)]) + seeds
    }

    /// `roles.gossip.generate`.
    public struct Generator: Sendable, Equatable {
        public var configuration: LoadBalancerConfiguration
        public var file: LoadBalancerFile
        public var debounce: Duration

        public init(configuration: LoadBalancerConfiguration, file: LoadBalancerFile, debounce: Duration) {
            self.configuration = configuration
            self.file = file
            self.debounce = debounce
        }
    }
}
