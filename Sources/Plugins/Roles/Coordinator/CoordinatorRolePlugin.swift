import Plugins

/// The `coordinator` role: hedge's leader election, append-only log, Send, Broadcast and semaphore for the
/// processes of a set of hosts, over the local admin API (docs/coordinator.md).
public struct CoordinatorRolePlugin: RolePlugin {
    public typealias Settings = CoordinatorSettings

    public let name = "coordinator"

    public init() {}

    public func decode(_ section: ConfigMapping) throws -> CoordinatorSettings {
        try CoordinatorSection.decode(section)
    }

    public func summary(of settings: CoordinatorSettings) -> String {
        "group \(settings.group); store \(settings.store); lease \(ConfigDuration(settings.lease)); peer \(settings.peer.listen)\(peerAuthentication(settings.peer))"
    }

    func peerAuthentication(_ peer: CoordinatorSettings.Peer) -> String {
        switch (peer.token != nil, peer.tls != nil) {
        case (true, true): " (mutual TLS and token)"
        case (false, true): " (mutual TLS)"
        case (true, false): " (token)"
        case (false, false): ""
        }
    }

    public func makeRole(settings: CoordinatorSettings, context: RoleContext) async throws -> any Role<CoordinatorSettings> {
        CoordinatorRole(settings: settings, context: context)
    }
}
