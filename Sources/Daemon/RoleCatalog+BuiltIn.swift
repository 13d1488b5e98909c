import CacheRole
import Plugins
import GossipRole
import ProxyRole
import CoordinatorRole

extension RoleCatalog {
    /// The roles this build of outrider provides, in the order ties are broken when starting. Assembled here, in
    /// the executable, so that the core knows no role and each role's adapter links only its own library.
    static let builtIn = RoleCatalog([
        AnyRolePlugin(GossipRolePlugin()),
        AnyRolePlugin(CacheRolePlugin()),
        AnyRolePlugin(ProxyRolePlugin()),
        AnyRolePlugin(CoordinatorRolePlugin()),
    ])
}
