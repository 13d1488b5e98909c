import NIOHTTP1
import Synchronization

/// Every role's admin routes, looked up by the admin listener on each request.
public final class AdminRouteTable: Sendable {
    struct Route {
        var method: HTTPMethod
        var pattern: AdminRoutePattern
        var handler: AdminHandler
    }

    private let routes = Mutex<[String: [Route]]>([:])

    public init() {}

    /// The routes handle a role receives.
    public func routes(for role: String) -> AdminRoutes {
        AdminRoutes(role: role, table: self)
    }

    func add(role: String, route: Route) {
        routes.withLock { table in
            table[role, default: []].removeAll { $0.method == route.method && $0.pattern.hasSameShape(as: route.pattern) }
            table[role, default: []].append(route)
        }
    }

    /// Removes a role's routes when it stops.
    public func removeAll(role: String) {
        _ = routes.withLock { $0.removeValue(forKey: role) }
    }

    public enum Lookup: Sendable {
        /// The handler, with the path's parameters already filled into the request it is given.
        case found(AdminHandler)
        /// The path exists with other methods.
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
        /// The path is not valid percent-encoded UTF-8.
        case badRequest(String)
    }

    /// Finds the handler for `method` and `path` below `/v1/<role>`. When several patterns match, the most specific
    /// decides (``AdminRoutePattern/isMoreSpecific(than:)``), and its methods alone: a method it lacks is 405 even
    /// if a less specific pattern has it. HEAD falls back to GET.
    public func lookup(role: String, method: HTTPMethod, path: String) -> Lookup {
        guard let segments = AdminRoutePattern.decodedSegments(of: path) else {
            return .badRequest("the path is not valid percent-encoded UTF-8")
        }
        let matches = routes.withLock { $0[role] ?? [] }.compactMap { route in
            route.pattern.match(segments).map { (route: route, parameters: $0) }
        }
        guard let first = matches.first else { return .notFound }
        let winner = matches.dropFirst().reduce(first.route.pattern) { best, match in
            match.route.pattern.isMoreSpecific(than: best) ? match.route.pattern : best
        }
        let candidates = matches.filter { $0.route.pattern.hasSameShape(as: winner) }
        guard let chosen = candidates.first(where: { $0.route.method == method })
            ?? (method == .HEAD ? candidates.first(where: { $0.route.method == .GET }) : nil)
        else {
            var allowed = candidates.map(\.route.method)
            if allowed.contains(.GET), !allowed.contains(.HEAD) { allowed.insert(.HEAD, at: allowed.firstIndex(of: .GET)! + 1) }
            return .methodNotAllowed(allowed: allowed)
        }
        let handler = chosen.route.handler, parameters = chosen.parameters
        return .found { request in
            var request = request
            request.parameters = parameters
            return try await handler(request)
        }
    }
}
