import NIOCore
import NIOHTTP1
import Synchronization

/// A plain hit on a copy in memory: a whole `GET` or `HEAD`, served as stored. Its head is
/// kept as bytes (``StoredResponse/headBytes``), its body is the copy's buffer: nothing is
/// read, and no fields are built unless ``head`` is asked for (an HTTP/2 client's response).
final class HeldHit: StoredResponse {
    private let cache: HTTPCache
    /// The copy's decoded head, shared with it (not copied per hit).
    private let decoded: DecodedHead
    private let object: CacheStoreObject
    private let body: ByteBuffer
    private let bytes: StoredHeadBytes
    /// Whether the body has been handed over (an atomic kept inline: no lock made per hit).
    private let taken = Atomic(false)

    init(cache: HTTPCache, decoded: DecodedHead, object: CacheStoreObject, lines: ServedHeadLines, body: ByteBuffer, age: Int, status: CacheStatus) {
        self.cache = cache
        self.decoded = decoded
        self.object = object
        self.body = body
        self.bytes = StoredHeadBytes(lines: lines, age: age, cacheStatus: status, contentLength: body.readableBytes)
    }

    var headBytes: StoredHeadBytes? { bytes }

    /// The same head as fields, as the fields path builds it.
    var head: HTTPResponseHead {
        let fields = cache.settings.policy.servedFields(
            decoded.head,
            age: bytes.age,
            validated: false,
            extra: ["cache-status": bytes.cacheStatus.description, "content-length": String(bytes.contentLength)]
        )
        return HTTPResponseHead(version: .http1_1, status: bytes.status, headers: fields)
    }

    func nextBodyPart(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        eventLoop.makeSucceededFuture(takeBodyAtHand())
    }

    func takeBodyAtHand() -> ByteBuffer? {
        guard !taken.exchange(true, ordering: .relaxed) else { return nil }
        cache.metrics.served(bytes: body.readableBytes)
        return body
    }

    deinit {
        object.release()
    }
}
