/// Why a ``ProxyConfiguration`` cannot be used; each case names what to fix.
public enum ProxyConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSites
    case emptySite(site: String)
    case duplicateSiteName(String)
    /// A pool string that is not a valid backend URL or pattern.
    case invalidPool(site: String, pool: String, reason: String)
    /// Backends of one site must share a scheme, as in sidekick.
    case mixedSchemes(site: String)
    case noListeners
    case invalidListener(host: String, port: Int, reason: String)
    case invalidValue(field: String, reason: String)
    /// A route, or `default_site`, that names no site.
    case unknownRouteSite(String)
    /// A route host that is not a host name or `*.` wildcard, or that two routes name.
    case invalidRouteHost(host: String, reason: String)

    public var description: String {
        switch self {
        case .noSites: "no sites configured"
        case .emptySite(let site): "site \(site) has no pools"
        case .duplicateSiteName(let name): "site name \(name) is used twice"
        case .invalidPool(let site, let pool, let reason): "site \(site): pool \"\(pool)\": \(reason)"
        case .mixedSchemes(let site): "site \(site): backends mix http and https"
        case .noListeners: "no listen addresses configured"
        case .invalidListener(let host, let port, let reason): "listen address \(host):\(port): \(reason)"
        case .invalidValue(let field, let reason): "\(field): \(reason)"
        case .unknownRouteSite(let site): "routes: no site is named \(site)"
        case .invalidRouteHost(let host, let reason): "routes: host \(host): \(reason)"
        }
    }
}
