import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

@testable import Proxy

/// A response cache in memory, keyed by target, for tests of the proxy's cache seam: `GET`
/// and `HEAD` answers of status 200 are stored whole; an entry marked stale is revalidated
/// with its `ETag`; targets under `/fail` make the lookup fail; `/bypass` is never stored.
final class TestResponseCache: ResponseCache {
    struct Entry: Sendable {
        var head: HTTPResponseHead
        var body: ByteBuffer
        var stale = false
    }

    struct State {
        var entries: [String: Entry] = [:]
        var lookups = 0
        var aborted = 0
        var revalidated = 0
    }

    let state = NIOLockedValueBox(State())

    func entry(_ target: String) -> Entry? { state.withLockedValue { $0.entries[target] } }
    var aborted: Int { state.withLockedValue { $0.aborted } }
    var revalidated: Int { state.withLockedValue { $0.revalidated } }

    func markStale(_ target: String) {
        state.withLockedValue { $0.entries[target]?.stale = true }
    }

    func lookup(_ request: CacheRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup> {
        state.withLockedValue { $0.lookups += 1 }
        if request.target.hasPrefix("/fail") {
            return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        if request.target.hasPrefix("/bypass") || (request.method != .GET && request.method != .HEAD) {
            return eventLoop.makeSucceededFuture(.bypass)
        }
        let fill = Fill(cache: self, target: request.target)
        guard let entry = entry(request.target) else {
            return eventLoop.makeSucceededFuture(.miss(fill))
        }
        let stored = Stored(head: entry.head, body: entry.body)
        if entry.stale, let etag = entry.head.headers.first(name: "etag") {
            return eventLoop.makeSucceededFuture(.revalidate(stored, conditions: ["if-none-match": etag], fill: fill))
        }
        return eventLoop.makeSucceededFuture(.hit(stored))
    }

    private final class Fill: CacheFill {
        let cache: TestResponseCache
        let target: String
        private let pending = NIOLockedValueBox<Entry?>(nil)

        init(cache: TestResponseCache, target: String) {
            self.cache = cache
            self.target = target
        }

        func head(_ head: HTTPResponseHead) -> CacheFillStart {
            guard head.status == .ok else { return CacheFillStart(stores: false) }
            pending.withLockedValue { $0 = Entry(head: head, body: ByteBuffer()) }
            return CacheFillStart(stores: true)
        }

        func body(_ part: ByteBuffer) -> EventLoopFuture<Void>? {
            pending.withLockedValue { $0?.body.writeImmutableBuffer(part) }
            return nil
        }

        func end(_ trailers: HTTPHeaders?) {
            guard let entry = pending.withLockedValue({ $0 }) else { return }
            cache.state.withLockedValue { $0.entries[target] = entry }
        }

        func abort() {
            pending.withLockedValue { $0 = nil }
            cache.state.withLockedValue { $0.aborted += 1 }
        }

        func revalidated(_ head: HTTPResponseHead) {
            cache.state.withLockedValue { state in
                state.entries[target]?.stale = false
                state.revalidated += 1
            }
        }
    }

    /// Serves its body in two parts, so that serving goes through more than one read.
    private final class Stored: StoredResponse {
        let head: HTTPResponseHead
        private let parts: NIOLockedValueBox<[ByteBuffer]>

        init(head: HTTPResponseHead, body: ByteBuffer) {
            self.head = head
            var body = body
            let first = body.readSlice(length: body.readableBytes / 2) ?? ByteBuffer()
            self.parts = NIOLockedValueBox([first, body].filter { $0.readableBytes > 0 })
        }

        func nextBodyPart(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
            let next = parts.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() }
            return eventLoop.makeSucceededFuture(next)
        }
    }
}
