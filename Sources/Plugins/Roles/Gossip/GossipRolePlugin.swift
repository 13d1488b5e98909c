import Membership
import Plugins

/// The `gossip` role: a SWIM member speaking memberlist's and serf's protocols (``GossipNode``, ``SerfDelegate``),
/// configured from `roles.gossip`, offering the cluster's live membership to the other roles.
public struct GossipRolePlugin: RolePlugin {
    public typealias Settings = GossipSettings

    public let name = "gossip"

    public init() {}

    public var offers: [AnyCapability] { [AnyCapability(.membership)] }

    public func decode(_ section: ConfigMapping) throws -> GossipSettings {
        try GossipSection.decode(section)
    }

    public func summary(of settings: GossipSettings) -> String {
        let sources = settings.seedSources
        let join = sources.isEmpty ? "no join" : "seeds: \(sources.map(\.description).joined(separator: "; "))"
        return "bind \(settings.bind); advertise \(settings.advertiseHost):\(settings.advertisePort); profile \(settings.profile.rawValue); \(join); \(settings.tags.count) tag\(settings.tags.count == 1 ? "" : "s")\(settings.keys.isEmpty ? "" : "; encrypted")"
    }

    public func makeRole(settings: GossipSettings, context: RoleContext) async throws -> any Role<GossipSettings> {
        GossipRole(settings: settings, context: context)
    }
}
