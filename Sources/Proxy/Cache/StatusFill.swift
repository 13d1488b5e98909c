import NIOCore
import NIOHTTP1

/// A fill that stores nothing and only marks the response with its `Cache-Status` (a
/// request that bypassed a failing store).
struct StatusFill: CacheFill {
    let status: CacheStatus

    func head(_ head: HTTPResponseHead) -> CacheFillStart {
        var status = status
        status.forwardStatus = Int(head.status.code)
        return CacheFillStart(stores: false, fields: ["cache-status": status.description])
    }

    func body(_ part: ByteBuffer) -> EventLoopFuture<Void>? { nil }
    func end(_ trailers: HTTPHeaders?) {}
    func abort() {}
    func revalidated(_ head: HTTPResponseHead) {}
}
