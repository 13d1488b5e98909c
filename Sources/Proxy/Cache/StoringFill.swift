import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Tees a backend's response into the store as it streams to the client (one pass), or, for
/// a revalidation, takes the backend's `304` and updates the stored response's fields.
///
/// The store's writes are chained; while more than ``HTTPCache/fillHighWater`` bytes wait for
/// the store, ``body(_:)`` answers a future and the proxy stops reading the backend, so a slow
/// store slows the transfer instead of filling memory. A store that fails mid-fill is
/// dropped for this response (its partial object aborted); the client gets the rest.
final class StoringFill: CacheFill {
    private let cache: HTTPCache
    private let context: HTTPCache.LookupContext
    private let forward: CacheStatus.Forward
    /// The coalescing flight this fill leads, ended when it is.
    private let flight: CacheObjectName?
    /// The stored response being revalidated, and the one being served for it (none for a
    /// revalidation in the background: the client has had the stale one).
    private let revalidating: (entry: CacheEntryHead, name: CacheObjectName, stored: StoredEntry?)?
    /// A background revalidation (RFC 5861 `stale-while-revalidate`) answers no client: its
    /// request was counted when the stale response was served.
    private let inBackground: Bool
    private let state = NIOLockedValueBox(State())

    private struct State {
        var writer: EventLoopFuture<any CacheStoreWriter>?
        /// The last write in the chain (or the writer's creation).
        var last: EventLoopFuture<Void>?
        var pendingBytes = 0
        var written = 0
        var failed = false
        var done = false
        /// The `Vary` marker to write once the response is stored (`nil` for a response without
        /// `Vary`), made when the fill begins.
        var marker: ByteBuffer?
        var flightEnded = false
    }

    init(
        cache: HTTPCache,
        context: HTTPCache.LookupContext,
        forward: CacheStatus.Forward,
        flight: CacheObjectName?,
        revalidating: (entry: CacheEntryHead, name: CacheObjectName, stored: StoredEntry?)? = nil,
        inBackground: Bool = false
    ) {
        self.cache = cache
        self.context = context
        self.forward = forward
        self.flight = flight
        self.revalidating = revalidating
        self.inBackground = inBackground
    }

    private var loop: any EventLoop { context.eventLoop }

    func head(_ head: HTTPResponseHead) -> CacheFillStart {
        let status = Int(head.status.code)
        let responseTime = cache.clock()
        var cacheStatus = CacheStatus(forward: forward, forwardStatus: status)
        let storing = decideStoring(head, responseTime: responseTime)
        switch storing {
        case .notStorable(let reason):
            count(.uncacheable, background: .uncacheable)
            cacheStatus.detail = reason
            finish()
            return CacheFillStart(stores: false, fields: ["cache-status": cacheStatus.description])
        case .storable:
            // A background revalidation's new response is counted once it is stored (see `end`).
            count(.miss, background: nil)
            cacheStatus.stored = true
            return CacheFillStart(stores: true, fields: ["cache-status": cacheStatus.description])
        }
    }

    /// Decides whether `head` is stored and, if so, begins the store's fill.
    private func decideStoring(_ head: HTTPResponseHead, responseTime: Int) -> CachePolicy.Storability {
        let control = CacheControl(head.headers)
        let status = Int(head.status.code)
        let decision = cache.settings.policy.storability(
            method: context.request.method,
            request: context.request.headers,
            requestControl: context.control,
            status: status,
            response: head.headers,
            responseControl: control,
            responseTime: responseTime
        )
        guard case .storable = decision else { return decision }
        let length = head.headers.first(name: "content-length").flatMap { Int($0.trimmingASCIISpaces()) }
        if let length {
            if length < cache.settings.minSize { return .notStorable("min-size") }
            if length > cache.settings.maxObjectSize { return .notStorable("max-object-size") }
        }
        guard let varyNames = VaryValue.fieldNames(in: head.headers) else { return .notStorable("vary-star") }
        // The stored head is made, encoded and named, and the store's work (a temporary file opened on its threads,
        // an upload begun) started, once the bytes of this read have been flushed to the client: NIO runs a task
        // after the read's events, so neither comes between the backend's first bytes and the client's.
        let writer = loop.flatSubmit { [self, loop] in
            let (name, metadata, marker) = storedHead(of: head, control: control, varyNames: varyNames, responseTime: responseTime)
            state.withLockedValue { $0.marker = marker }
            return cache.timed(cache.store.beginFill(name, metadata: metadata, bodyLength: length, on: loop), on: loop, late: { $0.abort() })
        }
        state.withLockedValue { state in
            state.writer = writer
            state.last = writer.map { _ in }
        }
        writer.whenFailure { [self] error in fail(error, doing: "begin fill") }
        return .storable
    }

    /// What is stored for `head`: the object's name, its metadata (the stored fields and what
    /// its freshness is computed from), and the `Vary` marker for the URI's primary name (`nil`
    /// for a response without `Vary`).
    private func storedHead(
        of head: HTTPResponseHead,
        control: CacheControl,
        varyNames: [String],
        responseTime: Int
    ) -> (name: CacheObjectName, metadata: ByteBuffer, marker: ByteBuffer?) {
        var fields = cache.settings.policy.storedFields(head.headers, control: control)
        fields.remove(name: "content-length")
        fields.remove(name: "age")
        fields.remove(name: "cache-status")
        let variant = VaryValue.values(of: varyNames, in: context.request.headers)
        let entry = CacheEntryHead(
            uri: context.key.uri,
            status: Int(head.status.code),
            headers: fields,
            requestTime: context.requestTime,
            responseTime: responseTime,
            correctedInitialAge: Freshness.correctedInitialAge(headers: head.headers, requestTime: context.requestTime, responseTime: responseTime),
            variant: variant,
            // The stored fields keep the response's Cache-Control unless `private` names it.
            control: control.privateFields.contains("cache-control") ? nil : control
        )
        let name = varyNames.isEmpty ? cache.objectName(of: context.key) : context.key.objectName(variant: variant)
        let marker = varyNames.isEmpty ? nil : CacheEntryHead(kind: .variants, uri: context.key.uri, varyNames: varyNames).encoded()
        return (name, entry.encoded(), marker)
    }

    func body(_ part: ByteBuffer) -> EventLoopFuture<Void>? {
        let bytes = part.readableBytes
        let chained: EventLoopFuture<Void>? = state.withLockedValue { state in
            guard !state.failed, !state.done, let writer = state.writer, let last = state.last else { return nil }
            state.written += bytes
            if state.written > cache.settings.maxObjectSize {
                state.failed = true
                return nil
            }
            state.pendingBytes += bytes
            let next = last.flatMap { writer.flatMap { $0.write(part) } }
            state.last = next
            return next
        }
        guard let chained else {
            if state.withLockedValue({ $0.failed && $0.writer != nil }) { abortWriter() }
            return nil
        }
        cache.metrics.stored(bytes: bytes)
        chained.whenComplete { [state] _ in state.withLockedValue { $0.pendingBytes -= bytes } }
        chained.whenFailure { [self] error in fail(error, doing: "write") }
        let behind = state.withLockedValue { $0.pendingBytes > HTTPCache.fillHighWater }
        return behind ? chained : nil
    }

    func end(_ trailers: HTTPHeaders?) {
        let (writer, last, written, failed) = state.withLockedValue { state in
            defer { state.done = true }
            return (state.writer, state.last, state.written, state.failed || state.done)
        }
        guard let writer, let last, !failed else {
            count(nil, background: .failed)
            finish()
            return
        }
        if written < cache.settings.minSize {
            count(nil, background: .uncacheable)
            abortWriter()
            finish()
            return
        }
        let committed = last.flatMap { writer }.flatMap { [cache, loop] writer in
            cache.timed(writer.commit(), on: loop)
        }
        committed.flatMap { [cache, context, loop, state] () -> EventLoopFuture<Void> in
            // Set when the fill began, before its writer was given.
            guard let marker = state.withLockedValue({ $0.marker }) else { return loop.makeSucceededVoidFuture() }
            // The URI's responses vary: the marker at its primary name says on what.
            return cache.store.beginFill(cache.objectName(of: context.key), metadata: marker, bodyLength: 0, on: loop).flatMap { $0.commit() }
        }.whenComplete { [self] result in
            count(nil, background: (try? result.get()) != nil ? .replaced : .failed)
            if case .failure(let error) = result {
                if let error = error as? CacheStoreError, case .lengthMismatch = error {
                    cache.logger.debug("response not stored: its length did not match", metadata: ["uri": "\(context.key.uri)"])
                } else {
                    cache.storeFault(error, doing: "commit")
                }
            }
            finish()
        }
    }

    func abort() {
        let wasDone = state.withLockedValue { state in
            defer { state.done = true }
            return state.done
        }
        if !wasDone { count(nil, background: .failed) }
        abortWriter()
        finish()
    }

    /// The revalidation's answer: a `304` updates the stored fields and the stored response
    /// is served as validated; a 5xx (with `stale-if-error`) serves it stale, unchanged. The
    /// flight ends once the store has the update, so no request in between starts another.
    func revalidated(_ head: HTTPResponseHead) {
        guard let (entry, name, stored) = revalidating else {
            finish()
            return
        }
        guard head.status == .notModified else {
            defer { finish() }
            count(.stale, background: nil)
            stored?.update { served in
                served.headers.replaceOrAdd(
                    name: "cache-status",
                    value: CacheStatus(forward: .stale, forwardStatus: Int(head.status.code), detail: "stale-if-error").description
                )
            }
            return
        }
        count(.revalidated, background: nil)
        let now = cache.clock()
        guard CachePolicy.notModified(head.headers, matches: entry) else {
            count(nil, background: .failed)
            finish()
            return
        }
        let updated = CachePolicy.updated(entry, with: head.headers, requestTime: context.requestTime, responseTime: now)
        cache.timed(cache.store.replaceMetadata(name, metadata: updated.encoded(), on: loop), on: loop).whenComplete { [self] result in
            if case .failure(let error) = result { cache.storeFault(error, doing: "update") }
            count(nil, background: (try? result.get()) != nil ? .validated : .failed)
            finish()
        }
        guard let stored else { return }
        let age = Freshness.currentAge(correctedInitialAge: updated.correctedInitialAge, responseTime: updated.responseTime, now: now)
        let fields = cache.settings.policy.servedFields(updated, age: age, validated: true)
        stored.update { served in
            let length = served.headers.first(name: "content-length")
            let range = served.headers.first(name: "content-range")
            served.headers = fields
            if let length { served.headers.replaceOrAdd(name: "content-length", value: length) }
            if let range { served.headers.replaceOrAdd(name: "content-range", value: range) }
            served.headers.replaceOrAdd(name: "cache-status", value: CacheStatus(forward: .stale, forwardStatus: 304).description)
        }
    }

    /// Counts how the request went (`foreground`) or, for a revalidation in the background, how it ended.
    private func count(_ foreground: CacheMetrics.Result?, background: CacheMetrics.Background?) {
        if inBackground {
            if let background { cache.metrics.count(background: background) }
        } else if let foreground {
            cache.metrics.count(foreground)
        }
    }

    private func fail(_ error: any Error, doing what: String) {
        let first: Bool = state.withLockedValue { state in
            defer { state.failed = true }
            return !state.failed
        }
        guard first else { return }
        cache.storeFault(error, doing: what)
        abortWriter()
    }

    private func abortWriter() {
        let writer = state.withLockedValue { state in
            defer { state.writer = nil }
            return state.writer
        }
        writer?.whenSuccess { $0.abort() }
    }

    /// A fill the proxy let go without an end or an abort (the client left before the cache answered) must not
    /// keep its flight, or every later miss of the name would wait for it.
    deinit {
        let unfinished = state.withLockedValue { !$0.done && $0.writer != nil }
        if unfinished { abortWriter() }
        finish()
    }

    /// Ends the coalescing flight this fill leads, once.
    private func finish() {
        guard let flight else { return }
        let first: Bool = state.withLockedValue { state in
            defer { state.flightEnded = true }
            return !state.flightEnded
        }
        if first { cache.endFlight(flight) }
    }
}
