import NIOCore
import NIOHTTP1
import Synchronization

/// A request to a role's admin route, with the path below `/v1/<role>`.
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    /// The path below the role's prefix, starting with `/`: `/members` for `GET /v1/gossip/members`.
    public var path: String
    public var query: String?
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(method: HTTPMethod, path: String, query: String?, headers: HTTPHeaders, body: ByteBuffer) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// An admin response.
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(
            status: status,
            headers: ["Content-Type": "application/json"],
            body: ByteBuffer(string: value.rendered() + "\n")
        )
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: ByteBuffer(string: text))
    }
}

public typealias AdminHandler = @Sendable (AdminRequest) async -> AdminResponse

/// Every role's admin routes, looked up by the admin listener on each request.
public final class AdminRouteTable: Sendable {
    struct Route {
        var method: HTTPMethod
        var path: String
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
            table[role, default: []].removeAll { $0.method == route.method && $0.path == route.path }
            table[role, default: []].append(route)
        }
    }

    /// Removes a role's routes when it stops.
    public func removeAll(role: String) {
        _ = routes.withLock { $0.removeValue(forKey: role) }
    }

    public enum Lookup: Sendable {
        case found(AdminHandler)
        /// The path exists with other methods.
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    /// Finds the handler for `method` and `path` below `/v1/<role>`. HEAD falls back to GET.
    public func lookup(role: String, method: HTTPMethod, path: String) -> Lookup {
        let candidates = routes.withLock { $0[role] ?? [] }.filter { $0.path == path }
        guard !candidates.isEmpty else { return .notFound }
        if let route = candidates.first(where: { $0.method == method })
            ?? (method == .HEAD ? candidates.first(where: { $0.method == .GET }) : nil)
        {
            return .found(route.handler)
        }
        return .methodNotAllowed(allowed: candidates.map(\.method))
    }
}

/// A role's handle for adding routes under `/v1/<role>/` on the admin listener.
public struct AdminRoutes: Sendable {
    public let role: String
    let table: AdminRouteTable

    /// Adds `handler` for `method` on `/v1/<role><path>`; `path` starts with `/` (`/members`).
    public func add(_ method: HTTPMethod, _ path: String, handler: @escaping AdminHandler) {
        table.add(role: role, route: .init(method: method, path: path.hasPrefix("/") ? path : "/" + path, handler: handler))
    }
}
