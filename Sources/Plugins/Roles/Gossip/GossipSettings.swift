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
    /// `host[:port]` entries, resolved at each attempt.
    public var join: [String] = []
    public var tags: [String: String] = [:]
    /// The keyring's keys, the primary first; empty for no encryption.
    public var keys: [[UInt8]] = []
    public var label = ""
    public var leaveTimeout: Duration = .seconds(5)

    public init() {}
}
