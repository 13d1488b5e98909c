import Plugins
import Testing

@testable import GossipRole

/// `roles:` YAML read through a catalog of the gossip role alone, as the section tests do: the settings, or every
/// problem as `file:line:column: message`.
protocol GossipSectionParsing {}

extension GossipSectionParsing {
    var catalog: RoleCatalog { RoleCatalog([AnyRolePlugin(GossipRolePlugin())]) }

    func parse(_ yaml: String) throws -> GossipSettings {
        let configuration = try OutriderConfiguration.parse("roles:\n" + yaml, path: "g.yaml", catalog: catalog, environment: [:])
        return try #require(configuration.roles.first?.settings.value as? GossipSettings)
    }

    func problems(_ yaml: String) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n" + yaml, path: "g.yaml", catalog: catalog, environment: [:])
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.file):\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }
}
