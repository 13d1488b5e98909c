import NIOConcurrencyHelpers
import NIOCore

/// Small objects held in memory in front of a store, as Varnish's `malloc` storage holds its
/// objects: a hit on one costs no file or network I/O and no hop to the store's threads, only
/// a lookup under a lock and a slice of a shared buffer.
///
/// The store stays the record: every object is written there as before, and the tier only
/// keeps copies, least recently used out first once `maxSize` is reached. An object comes in
/// when a fill of it commits or when a hit reads it from the store, if it is at most
/// `maxObjectSize` (metadata and body). A commit, removal or metadata change of a name drops
/// its copy, and a copy being read or filled while that happens is not kept, so the tier
/// never answers with what the store no longer holds for this process. (A shared S3 store
/// may be changed by other sidecars: their writes and purges reach this tier's copies only
/// when those leave it.)
public final class MemoryTier: CacheStore {
    public let store: any CacheStore
    public let maxSize: Int
    public let maxObjectSize: Int
    private let state = NIOLockedValueBox(State())

    /// A copy; a reference, so that a hit copies no fields out of the tier.
    final class Held: Sendable {
        /// The copy as a store's object, made once: every hit on it is handed this same one.
        let object: CacheStoreObject

        /// The bytes the copy takes: its metadata and its body.
        var size: Int { object.metadata.readableBytes + object.bodyLength }

        init(metadata: ByteBuffer, body: ByteBuffer) {
            let decoded = CacheEntryHead(decoding: metadata).map(DecodedHead.init)
            object = CacheStoreObject(
                metadata: metadata,
                bodyLength: body.readableBytes,
                readBody: { [body] offset, length in
                    MemoryBodyReader(part: body.getSlice(at: body.readerIndex + offset, length: length) ?? ByteBuffer())
                },
                release: {},
                decoded: decoded,
                heldBody: body
            )
        }
    }

    struct State {
        var index = LRUIndex<CacheObjectName>()
        var held: [CacheObjectName: Held] = [:]
        /// The one read or fill of each name whose copy may still come in; a change of the name
        /// removes it, and a later read or fill replaces it.
        var pending: [CacheObjectName: UInt64] = [:]
        var nextToken: UInt64 = 0
        var hits = 0

        mutating func claim(_ name: CacheObjectName) -> UInt64 {
            nextToken += 1
            pending[name] = nextToken
            return nextToken
        }

        mutating func drop(_ name: CacheObjectName) {
            pending[name] = nil
            if held.removeValue(forKey: name) != nil { _ = index.remove(name) }
        }
    }

    public init(store: any CacheStore, maxSize: Int, maxObjectSize: Int) {
        self.store = store
        self.maxSize = maxSize
        self.maxObjectSize = min(maxObjectSize, maxSize)
    }

    /// Objects and bytes held, and hits answered from memory.
    public var memoryUsage: (objects: Int, bytes: Int, hits: Int) {
        state.withLockedValue { ($0.held.count, $0.index.totalSize, $0.hits) }
    }

    // MARK: CacheStore

    public func heldObject(_ name: CacheObjectName) -> CacheStoreObject? {
        let found: Held? = state.withLockedValue { state in
            guard let held = state.held[name] else { return nil }
            _ = state.index.touch(name)
            state.hits += 1
            return held
        }
        return found?.object
    }

    public func mayHold(_ name: CacheObjectName) -> Bool {
        state.withLockedValue { $0.held[name] != nil } || store.mayHold(name)
    }

    public func open(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreObject?> {
        if let held = heldObject(name) { return eventLoop.makeSucceededFuture(held) }
        let token = state.withLockedValue { $0.claim(name) }
        return store.open(name, on: eventLoop).flatMap { [self] object -> EventLoopFuture<CacheStoreObject?> in
            guard let object, object.metadata.readableBytes + object.bodyLength <= maxObjectSize else {
                abandon(name, token)
                return eventLoop.makeSucceededFuture(object)
            }
            return Self.readWhole(object, on: eventLoop).map { body in
                guard let body else {
                    self.abandon(name, token)
                    return nil
                }
                let held = Held(metadata: object.metadata, body: body)
                self.keep(held, as: name, token: token)
                return held.object
            }.flatMapErrorThrowing { error in
                self.abandon(name, token)
                throw error
            }
        }
    }

    public func beginFill(
        _ name: CacheObjectName,
        metadata: ByteBuffer,
        bodyLength: Int?,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<any CacheStoreWriter> {
        let fits = bodyLength.map { metadata.readableBytes + $0 <= maxObjectSize } ?? true
        let token: UInt64? = fits ? state.withLockedValue { $0.claim(name) } : nil
        return store.beginFill(name, metadata: metadata, bodyLength: bodyLength, on: eventLoop).map { writer in
            MemoryTierFill(tier: self, name: name, metadata: metadata, token: token, writer: writer, limit: self.maxObjectSize)
        }.flatMapErrorThrowing { [self] error in
            if let token { abandon(name, token) }
            throw error
        }
    }

    public func replaceMetadata(_ name: CacheObjectName, metadata: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        state.withLockedValue { $0.drop(name) }
        return store.replaceMetadata(name, metadata: metadata, on: eventLoop)
    }

    public func remove(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        state.withLockedValue { $0.drop(name) }
        return store.remove(name, on: eventLoop)
    }

    /// Drops the copies of the URI and of its variants (the names starting with its name; a
    /// pass over the copies, which are few), then removes them from the store.
    public func removeVariants(of primary: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        state.withLockedValue { state in
            let names = state.held.keys.filter { $0.hex.utf8.starts(with: primary.hex.utf8) }
                + state.pending.keys.filter { $0.hex.utf8.starts(with: primary.hex.utf8) }
            for name in names { state.drop(name) }
        }
        return store.removeVariants(of: primary, on: eventLoop)
    }

    public func removeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        forgetAll()
        return store.removeAll(on: eventLoop)
    }

    public func removeObjects(withURIPrefix prefix: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int>? {
        guard let removed = store.removeObjects(withURIPrefix: prefix, on: eventLoop) else { return nil }
        // The copies carry no URI index of their own: all go, and hot objects come back at their next hit.
        forgetAll()
        return removed
    }

    public func checkHealth(on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreHealth> {
        store.checkHealth(on: eventLoop)
    }

    public var usage: CacheStoreUsage { store.usage }

    public func shutdown() -> EventLoopFuture<Void> {
        forgetAll()
        return store.shutdown()
    }

    // MARK: Copies

    /// A fill committed in the store: its copy replaces any other, if the fill was still the name's latest.
    func committed(_ name: CacheObjectName, token: UInt64?, metadata: ByteBuffer, body: ByteBuffer?) {
        let held = token == nil ? nil : body.map { Held(metadata: metadata, body: $0) }
        state.withLockedValue { state in
            let current = token != nil && state.pending[name] == token
            state.drop(name)
            if current, let held { Self.insert(held, as: name, into: &state, under: maxSize) }
        }
    }

    func abandon(_ name: CacheObjectName, _ token: UInt64) {
        state.withLockedValue { state in
            if state.pending[name] == token { state.pending[name] = nil }
        }
    }

    private func keep(_ held: Held, as name: CacheObjectName, token: UInt64) {
        state.withLockedValue { state in
            guard state.pending[name] == token else { return }
            state.pending[name] = nil
            Self.insert(held, as: name, into: &state, under: maxSize)
        }
    }

    private func forgetAll() {
        state.withLockedValue { state in
            state.held = [:]
            state.pending = [:]
            state.index = LRUIndex()
        }
    }

    private static func insert(_ held: Held, as name: CacheObjectName, into state: inout State, under maxSize: Int) {
        let size = held.size
        if state.held.updateValue(held, forKey: name) != nil { _ = state.index.remove(name) }
        state.index.insert(name, size: size)
        for evicted in state.index.evict(toFit: 0, under: maxSize) { state.held[evicted] = nil }
    }

    /// The whole body of a store's object, `nil` when it turns out truncated (the store removes such an object).
    private static func readWhole(_ object: CacheStoreObject, on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        let reader = object.readBody(0, object.bodyLength)
        var body = ByteBuffer()
        body.reserveCapacity(object.bodyLength)
        func next(_ body: ByteBuffer) -> EventLoopFuture<ByteBuffer?> {
            reader.next(on: eventLoop).flatMap { part in
                guard var part else { return eventLoop.makeSucceededFuture(body) }
                var body = body
                body.writeBuffer(&part)
                return next(body)
            }
        }
        return next(body).flatMapError { error in
            if case CacheStoreError.truncated = error { return eventLoop.makeSucceededFuture(nil) }
            return eventLoop.makeFailedFuture(error)
        }
    }
}

/// A body held in memory, handed over in one part.
private final class MemoryBodyReader: CacheBodyReader {
    private let part: NIOLockedValueBox<ByteBuffer?>

    init(part: ByteBuffer) {
        self.part = NIOLockedValueBox(part)
    }

    func next(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        eventLoop.makeSucceededFuture(part.withLockedValue { part in
            defer { part = nil }
            return part
        })
    }

    func cancel() {
        part.withLockedValue { $0 = nil }
    }
}

/// A fill passing through to the store, keeping a copy of a body that fits the tier.
private final class MemoryTierFill: CacheStoreWriter {
    private let tier: MemoryTier
    private let name: CacheObjectName
    private let metadata: ByteBuffer
    private let token: UInt64?
    private let writer: any CacheStoreWriter
    private let limit: Int
    /// The copy so far; `nil` once the body outgrew the tier.
    private let copy: NIOLockedValueBox<ByteBuffer?>

    init(tier: MemoryTier, name: CacheObjectName, metadata: ByteBuffer, token: UInt64?, writer: any CacheStoreWriter, limit: Int) {
        self.tier = tier
        self.name = name
        self.metadata = metadata
        self.token = token
        self.writer = writer
        self.limit = limit
        self.copy = NIOLockedValueBox(token == nil ? nil : ByteBuffer())
    }

    func write(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        copy.withLockedValue { copy in
            guard var body = copy else { return }
            copy = nil
            guard metadata.readableBytes + body.readableBytes + part.readableBytes <= limit else { return }
            var part = part
            body.writeBuffer(&part)
            copy = body
        }
        return writer.write(part)
    }

    func commit() -> EventLoopFuture<Void> {
        writer.commit().map { [self] in
            tier.committed(name, token: token, metadata: metadata, body: copy.withLockedValue { $0 })
        }.flatMapErrorThrowing { [self] error in
            if let token { tier.abandon(name, token) }
            throw error
        }
    }

    func abort() {
        writer.abort()
        copy.withLockedValue { $0 = nil }
        if let token { tier.abandon(name, token) }
    }
}
