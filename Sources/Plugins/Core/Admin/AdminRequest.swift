import NIOHTTP1
import NIOCore

/// A request to a role's admin route, with the path below `/v1/<role>`.
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    /// The path below the role's prefix, starting with `/`, as the client sent it (still percent-encoded):
    /// `/members` for `GET /v1/gossip/members`.
    public var path: String
    public var query: String?
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// The route's path parameters by name, percent-decoded: `["key": "a/b"]` for `/kv/a%2Fb` on `/kv/{key}`.
    public var parameters: [String: String]
    /// The connection the request came on, for a route that asks what the listener's `prepareConnection`
    /// handlers learnt about it (a role's TLS client certificate); nil for a request made in process.
    public var channel: (any Channel)?

    public init(
        method: HTTPMethod, path: String, query: String?, headers: HTTPHeaders, body: ByteBuffer, parameters: [String: String] = [:],
        channel: (any Channel)? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.parameters = parameters
        self.channel = channel
    }

    /// The path parameter `name`; a route declared with `{name}` always has it.
    public func parameter(_ name: String) throws(AdminError) -> String {
        guard let value = parameters[name] else { throw AdminError(.internalServerError, "the route has no parameter '\(name)'") }
        return value
    }
}
