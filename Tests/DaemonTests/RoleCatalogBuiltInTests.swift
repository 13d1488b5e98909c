import Plugins
import Testing

@testable import Daemon

/// The catalog the executable assembles: the only place that names every role.
@Suite struct RoleCatalogBuiltInTests {
    @Test func theBuiltInRoles() {
        #expect(RoleCatalog.builtIn.names == ["gossip", "cache", "proxy", "coordinator"])
    }

    /// Capabilities are told apart by name: two built-in roles offering one name with different value types would
    /// make their users' reads stop the process.
    @Test func noTwoBuiltInRolesOfferOneCapabilityWithDifferentTypes() {
        let offers = RoleCatalog.builtIn.plugins.flatMap(\.offers)
        let byName = Dictionary(grouping: offers, by: \.name)
        #expect(byName.values.allSatisfy { Set($0).count == 1 }, "\(byName)")
    }

    @Test func aProxySectionIsReadThroughTheBuiltInCatalog() throws {
        let configuration = try OutriderConfiguration.parse(
            "roles:\n  proxy:\n    sites: [{pools: [\"http://127.0.0.1:9000\"]}]\n",
            path: "b.yaml", catalog: .builtIn, environment: [:]
        )
        #expect(configuration.roles.map(\.name) == ["proxy"])
        #expect(configuration.roles.first?.summary == "listen :8080; 1 site (site1: 1 backend); balance least")
    }
}
