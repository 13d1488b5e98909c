import NIOConcurrencyHelpers
import NIOCore

/// A response cache whose cache can be replaced while it is installed in a proxy: what the cache
/// role hands the proxy, so that a reload with a new store or policy applies to the next request
/// without the proxy's routing table (or its connections) being touched. Without a cache it
/// bypasses every request.
public final class ResponseCacheLayer: ResponseCache {
    private let current = NIOLockedValueBox<HTTPCache?>(nil)

    public init(_ cache: HTTPCache? = nil) {
        current.withLockedValue { $0 = cache }
    }

    public var cache: HTTPCache? { current.withLockedValue { $0 } }

    /// Puts `cache` in place for the next requests; requests in flight finish with the old one.
    public func replace(with cache: HTTPCache?) {
        current.withLockedValue { $0 = cache }
    }

    public func lookup(_ request: CacheRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup> {
        answer(request, on: eventLoop).future(on: eventLoop)
    }

    public func answer(_ request: CacheRequest, on eventLoop: any EventLoop) -> CacheAnswer {
        guard let cache = current.withLockedValue({ $0 }) else { return .now(.bypass) }
        return cache.answer(request, on: eventLoop)
    }
}
