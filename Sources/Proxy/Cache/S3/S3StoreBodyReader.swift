import NIOConcurrencyHelpers
import NIOCore
import ObjectStore

/// A stored body read from S3 with one GET — ranged unless the whole body is asked for, and bound to the ETag
/// the lookup saw (`If-Match`), so a replaced object fails the read instead of mixing two objects. The GET starts
/// at the first `next`; its parts come as the reader asks for them (async-http-client reads on only then).
final class S3StoreBodyReader: CacheBodyReader {
    struct Source: Sendable {
        let store: S3Store
        let key: String
        let etag: String?
        /// Where the body starts in the object (after a head block).
        let bodyStart: Int
        let bodyLength: Int
    }

    private struct State: @unchecked Sendable {
        // The iterator is used by one `next` at a time (the CacheBodyReader contract: `next` is called again only
        // once the previous future completed), under this lock only to move it in and out.
        var iterator: S3Object.BodyIterator?
        var started = false
        var remaining: Int
        var task: Task<ByteBuffer?, any Error>?
        var cancelled = false
    }

    let source: Source
    let offset: Int
    let length: Int
    private let state: NIOLockedValueBox<State>

    init(source: Source, offset: Int, length: Int) {
        self.source = source
        self.offset = max(0, min(offset, source.bodyLength))
        self.length = max(0, min(length, source.bodyLength - self.offset))
        self.state = NIOLockedValueBox(State(remaining: self.length))
    }

    func next(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        let promise = eventLoop.makePromise(of: ByteBuffer?.self)
        let task = Task { () async throws -> ByteBuffer? in
            try await self.pull()
        }
        let cancelled = state.withLockedValue { state -> Bool in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
        promise.completeWithTask { try await task.value }
        return promise.futureResult
    }

    private func pull() async throws -> ByteBuffer? {
        var (iterator, started, remaining) = state.withLockedValue { state in
            defer { state.iterator = nil }
            return (state.iterator, state.started, state.remaining)
        }
        if remaining == 0 { return nil }
        if !started {
            state.withLockedValue { $0.started = true }
            let whole = offset == 0 && length == source.bodyLength && source.bodyStart == 0
            let first = Int64(source.bodyStart + offset)
            let range: S3ByteRange? = whole ? nil : .bounded(first: first, last: first + Int64(length) - 1)
            let object: S3Object?
            do {
                object = try await source.store.client.getObject(bucket: source.store.settings.bucket, key: source.key, range: range, ifMatch: source.etag)
            } catch {
                source.store.record(error)
                throw error
            }
            guard let object else { throw CacheStoreError.truncated }
            guard object.partLength == Int64(length) else {
                throw CacheStoreError.failed("S3 answered \(object.partLength) bytes for a read of \(length)")
            }
            iterator = object.makeBodyIterator()
        }
        guard var active = iterator else { throw CacheStoreError.truncated }
        let part: ByteBuffer?
        do {
            part = try await active.next()
        } catch {
            source.store.record(error)
            throw CacheStoreError.truncated
        }
        guard var part else {
            // The body ended before its length: the stored object is short; it goes.
            try? await source.store.client.deleteObject(bucket: source.store.settings.bucket, key: source.key)
            throw CacheStoreError.truncated
        }
        if part.readableBytes > remaining { part = part.getSlice(at: part.readerIndex, length: remaining) ?? part }
        remaining -= part.readableBytes
        let left = remaining
        state.withLockedValue { state in
            state.iterator = active
            state.remaining = left
        }
        return part
    }

    func cancel() {
        let task = state.withLockedValue { state in
            state.cancelled = true
            state.iterator = nil
            return state.task
        }
        task?.cancel()
    }
}
