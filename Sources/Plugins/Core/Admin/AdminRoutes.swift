import NIOHTTP1

/// What answers a role's admin route. It may take its time (a long poll holds the response until something
/// changes, for up to the 30 s the coordinator's watches wait), and is cancelled when the client disconnects.
/// It may throw: an ``AdminError`` is answered with its status and `{"error": "<message>"}`, anything else with 500.
public typealias AdminHandler = @Sendable (AdminRequest) async throws -> AdminResponse

/// A role's handle for adding routes under `/v1/<role>/` on the admin listener.
public struct AdminRoutes: Sendable {
    public let role: String
    let table: AdminRouteTable

    /// Adds `handler` for `method` on `/v1/<role><path>`. `path` starts with `/` and may name parameters as whole
    /// segments, `/kv/{key}`, which the handler reads from ``AdminRequest/parameters`` percent-decoded. A route of
    /// the same method and shape replaces the one before.
    public func add(_ method: HTTPMethod, _ path: String, handler: @escaping AdminHandler) {
        let pattern = AdminRoutePattern(path.hasPrefix("/") ? path : "/" + path)
        table.add(role: role, route: .init(method: method, pattern: pattern, handler: handler))
    }
}
