import NIOCore
import NIOHTTP1

/// A shared response cache that the proxy asks before it routes a request, the seam through
/// which a cache (the cache role's, on local disk or in an S3 bucket) sees the proxy's traffic:
/// the cache decides (RFC 9111) and stores; the proxy serves, forwards and tees.
///
/// Installed with ``ProxyServer/setResponseCache(_:)`` and carried in the routing table, so a
/// new cache, or none, applies to new requests at once while requests in flight finish with
/// the one they started with. Every request but `CONNECT` is offered to it: `GET` and `HEAD`
/// to be answered, the others so that a successful unsafe one can invalidate what is stored
/// (RFC 9111 4.4) through the fill it answers with.
///
/// Every call is made on the client connection's event loop, and a failed lookup never fails
/// the request: it is proxied as if there were no cache.
public protocol ResponseCache: Sendable {
    /// What to do with `request`; `eventLoop` is the client connection's, on which the future
    /// should complete.
    func lookup(_ request: CacheRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup>
    /// The same answer, without a future when it is at hand (a copy held in memory, a request
    /// the cache passes by): what the proxy asks, so that a hit from memory costs no future.
    func answer(_ request: CacheRequest, on eventLoop: any EventLoop) -> CacheAnswer
}

extension ResponseCache {
    public func answer(_ request: CacheRequest, on eventLoop: any EventLoop) -> CacheAnswer {
        .later(lookup(request, on: eventLoop))
    }
}

/// A lookup's answer: known now, or when the store has answered.
public enum CacheAnswer: Sendable {
    case now(CacheLookup)
    case later(EventLoopFuture<CacheLookup>)

    /// The answer as a future on `eventLoop`.
    public func future(on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup> {
        switch self {
        case .now(let lookup): eventLoop.makeSucceededFuture(lookup)
        case .later(let future): future
        }
    }
}

/// A request as the cache sees it.
public struct CacheRequest: Sendable {
    public var method: HTTPMethod
    /// The request target in origin form (`/path?query`).
    public var target: String
    /// The request's fields as the client sent them, `Host` included.
    public var headers: HTTPHeaders
    /// `http` or `https`, as the client connected: part of the cache key.
    public var scheme: String

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders, scheme: String = "http") {
        self.method = method
        self.target = target
        self.headers = headers
        self.scheme = scheme
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
    /// into `fill` (RFC 9111 4.3) — unless the stored response ``StoredResponse/servesOnError``
    /// and the backend fails or answers 500, 502, 503 or 504: then the stored response is
    /// served (RFC 5861 4) and `fill` told with ``CacheFill/revalidated(_:)`` too.
    case revalidate(any StoredResponse, conditions: HTTPHeaders, fill: any CacheFill)
    /// Serve the stored (stale) response now, and revalidate it in the background (RFC 5861
    /// 3, `stale-while-revalidate`): the proxy sends the request on its own, with
    /// `conditions` added, to a backend of the request's site; a `304` goes to
    /// ``CacheFill/revalidated(_:)``, any other final response to ``CacheFill/head(_:)``,
    /// ``CacheFill/body(_:)`` and ``CacheFill/end(_:)`` (its body read as fast as the fill
    /// takes it), and a failure, or no backend to ask, to ``CacheFill/abort()``.
    case hitRevalidatingInBackground(any StoredResponse, conditions: HTTPHeaders, fill: any CacheFill)
}

/// Receives a backend's response on its way to the client, on the client's event loop.
public protocol CacheFill: Sendable {
    /// The response's head, hop-by-hop fields removed: whether the rest is to be offered, and
    /// fields to add to the client's response (`Cache-Status`, RFC 9211).
    func head(_ head: HTTPResponseHead) -> CacheFillStart
    /// A part of the body; a future when the fill cannot take more until it completes: the
    /// backend is then not read, so the slower of the client and the store sets the pace.
    func body(_ part: ByteBuffer) -> EventLoopFuture<Void>?
    /// The response ended whole.
    func end(_ trailers: HTTPHeaders?)
    /// The response will not end whole (the client or the backend went away, or it timed
    /// out): anything stored of it must be dropped.
    func abort()
    /// A `304` to a revalidation: the stored response stays valid, updated with the fields of
    /// `head` (RFC 9111 4.3.4). Or, for a stored response that ``StoredResponse/servesOnError``,
    /// a 5xx `head` (the backend's, or the 502/504 of a failed attempt): the stored response
    /// is served instead, unchanged.
    func revalidated(_ head: HTTPResponseHead)
}

/// What a fill makes of a response's head.
public struct CacheFillStart: Sendable {
    /// Whether the body is to be offered to the fill.
    public var stores: Bool
    /// Fields added to the response the client gets.
    public var fields: HTTPHeaders

    public init(stores: Bool, fields: HTTPHeaders = [:]) {
        self.stores = stores
        self.fields = fields
    }
}

/// A response held by the cache, served to the client in parts.
public protocol StoredResponse: Sendable {
    /// The stored head; the proxy sets the client's own `Connection` framing.
    var head: HTTPResponseHead { get }
    /// Whether it is served when its revalidation finds the backend failing (RFC 5861
    /// `stale-if-error`).
    var servesOnError: Bool { get }
    /// The next part of the body, `nil` after the last. Asked again only once the previous
    /// future has completed and the client can take more, so a slow client slows the read
    /// from the store.
    func nextBodyPart(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?>
    /// The whole body at once when it is held in memory, before any ``nextBodyPart(on:)``;
    /// `nil` when it is to be read part by part (or there is none).
    func takeBodyAtHand() -> ByteBuffer?
    /// The head as HTTP/1 bytes, when the cache keeps it so (a plain hit on a copy in memory):
    /// what ``head`` says, framed as the proxy frames it, without building its fields. `nil`
    /// when the head is to be taken from ``head``.
    var headBytes: StoredHeadBytes? { get }
}

extension StoredResponse {
    public var servesOnError: Bool { false }

    public func takeBodyAtHand() -> ByteBuffer? { nil }

    public var headBytes: StoredHeadBytes? { nil }
}
