import NIOCore
import NIOHTTP1

/// A shared response cache that the proxy asks before it routes a request, the seam through
/// which a cache (the cache role's, on local disk or in an S3 bucket) sees the proxy's traffic:
/// the cache decides (RFC 9111) and stores; the proxy serves, forwards and tees.
///
/// Installed with ``ProxyServer/setResponseCache(_:)`` and carried in the routing table, so a
/// new cache, or none, applies to new requests at once while requests in flight finish with
/// the one they started with. Only `GET` and `HEAD` requests are offered to it.
///
/// Every call is made on the client connection's event loop, and a failed lookup never fails
/// the request: it is proxied as if there were no cache.
public protocol ResponseCache: Sendable {
    /// What to do with `request`; `eventLoop` is the client connection's, on which the future
    /// should complete.
    func lookup(_ request: CacheRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup>
}

/// A request as the cache sees it.
public struct CacheRequest: Sendable {
    public var method: HTTPMethod
    /// The request target in origin form (`/path?query`).
    public var target: String
    /// The request's fields as the client sent them, `Host` included.
    public var headers: HTTPHeaders

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        self.headers = headers
    }
}

/// What the cache answers to a lookup.
public enum CacheLookup: Sendable {
    /// Proxy the request; store nothing.
    case bypass
    /// Proxy the request and tee its response into `fill` as it streams to the client.
    case miss(any CacheFill)
    /// Serve the stored response; no backend is asked.
    case hit(any StoredResponse)
    /// Ask the backend with `conditions` added to the request (`If-None-Match`,
    /// `If-Modified-Since`): a `304` means the stored response is served (and `fill` told so
    /// with ``CacheFill/revalidated(_:)``), any other response goes to the client and is teed
    /// into `fill` (RFC 9111 4.3).
    case revalidate(any StoredResponse, conditions: HTTPHeaders, fill: any CacheFill)
}

/// Receives a backend's response on its way to the client, on the client's event loop.
public protocol CacheFill: Sendable {
    /// The response's head, hop-by-hop fields removed; `false` when nothing of this response
    /// is to be stored (the rest is then not offered).
    func head(_ head: HTTPResponseHead) -> Bool
    func body(_ part: ByteBuffer)
    /// The response ended whole.
    func end(_ trailers: HTTPHeaders?)
    /// The response will not end whole (the client or the backend went away, or it timed
    /// out): anything stored of it must be dropped.
    func abort()
    /// A `304` to a revalidation: the stored response stays valid, updated with the fields of
    /// `head` (RFC 9111 4.3.4).
    func revalidated(_ head: HTTPResponseHead)
}

/// A response held by the cache, served to the client in parts.
public protocol StoredResponse: Sendable {
    /// The stored head; the proxy sets the client's own `Connection` framing.
    var head: HTTPResponseHead { get }
    /// The next part of the body, `nil` after the last. Asked again only once the previous
    /// future has completed and the client can take more, so a slow client slows the read
    /// from the store.
    func nextBodyPart(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?>
}
