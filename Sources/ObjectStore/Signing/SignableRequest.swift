/// A request as SigV4 sees it, before and after signing: the method, the path and query in decoded form (an S3
/// object key is a path of bytes, not of URL escapes), and the header fields in their order.
///
/// `target` gives the request target to send, encoded exactly as the canonical request encodes it, so that the
/// server re-deriving the canonical request from the bytes it received gets the same string.
public struct SignableRequest: Sendable, Equatable {
    public var method: String
    /// The decoded path, starting with `/` (for S3 path-style: `/bucket/key`).
    public var path: String
    public var query: [QueryItem]
    public var headers: [Header]

    public struct QueryItem: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(method: String, path: String, query: [QueryItem] = [], headers: [Header] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The path and query to send: each encoded as in the canonical request (query items in their given order).
    public var target: String {
        let path = SigV4Encoding.encode(self.path, keepingSlash: true)
        if query.isEmpty { return path }
        return path + "?" + query.map { SigV4Encoding.encode($0.name, keepingSlash: false) + "=" + SigV4Encoding.encode($0.value, keepingSlash: false) }.joined(separator: "&")
    }

    /// The values of the header field `name` (any case), in order.
    public func values(of name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        let lower = name.lowercased()
        headers.removeAll { $0.name.lowercased() == lower }
        headers.append(Header(name, value))
    }
}
