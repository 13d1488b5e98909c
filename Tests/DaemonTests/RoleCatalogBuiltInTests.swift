import Plugins
import Testing

@testable import Daemon

/// The catalog the executable assembles: the only place that names every role.
@Suite struct RoleCatalogBuiltInTests {
    @Test func theProxyRoleIsBuiltIn() {
        #expect(RoleCatalog.builtIn.names == ["proxy"])
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
