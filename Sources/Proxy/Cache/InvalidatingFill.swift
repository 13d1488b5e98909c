import NIOCore
import NIOHTTP1

/// Watches the response to an unsafe request (`POST`, `PUT`, `DELETE`, `PATCH`, unknown
/// methods): a non-error one removes what is stored for the target URI and for its
/// same-origin `Location` and `Content-Location` (RFC 9111 4.4), each with every `Vary`
/// variant stored for it (left behind, a variant would come back into use once a new response
/// stored the URI's list of `Vary` fields again).
struct InvalidatingFill: CacheFill {
    let cache: HTTPCache
    let method: HTTPMethod
    let key: CacheKey
    let eventLoop: any EventLoop

    func head(_ head: HTTPResponseHead) -> CacheFillStart {
        let keys = CachePolicy.invalidatedKeys(method: method, status: Int(head.status.code), key: key, response: head.headers)
        for key in keys {
            cache.timed(cache.store.removeVariants(of: key.objectName, on: eventLoop), on: eventLoop).whenFailure { [cache] error in
                cache.storeFault(error, doing: "invalidate")
            }
        }
        return CacheFillStart(stores: false)
    }

    func body(_ part: ByteBuffer) -> EventLoopFuture<Void>? { nil }
    func end(_ trailers: HTTPHeaders?) {}
    func abort() {}
    func revalidated(_ head: HTTPResponseHead) {}
}
