import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A shared HTTP cache (RFC 9111, RFC 5861) on a ``CacheStore``: the proxy's
/// ``ResponseCache``, deciding with ``CachePolicy`` and keeping objects in the store.
///
/// - A miss streams to the client and into the store at once; the fill holds the backend
///   while the store is behind (``CacheFill/body(_:)``), so the slower side sets the pace and
///   no body is buffered whole. The object appears only at the store's checked commit.
/// - Concurrent misses of one URI send one request to the backend (`coalesce`): the others
///   wait for it to be stored, then are served from the store; if it is not stored they go
///   to the backend themselves.
/// - Every store call is bounded by `storeTimeout`; a store that fails, is slow or is down
///   is bypassed (the request is proxied, nothing stored), never an error to the client.
/// - Every response carries `Cache-Status` (RFC 9211) and, from the store, `Age`.
public final class HTTPCache: ResponseCache {
    public struct Settings: Sendable, Equatable {
        public var policy: CachePolicy
        /// Responses with fewer body bytes are not stored (sidekick's `SIDEKICK_CACHE_MIN_SIZE`).
        public var minSize: Int
        public var maxObjectSize: Int
        public var coalesce: Bool
        /// How long a store call may take before the store is bypassed for the request.
        public var storeTimeout: TimeAmount
        /// How long a coalesced request waits for the first one's response to be stored.
        public var coalesceTimeout: TimeAmount

        public init(
            policy: CachePolicy = CachePolicy(),
            minSize: Int = 0,
            maxObjectSize: Int = 5 << 30,
            coalesce: Bool = true,
            storeTimeout: TimeAmount = .seconds(2),
            coalesceTimeout: TimeAmount = .seconds(30)
        ) {
            self.policy = policy
            self.minSize = minSize
            self.maxObjectSize = maxObjectSize
            self.coalesce = coalesce
            self.storeTimeout = storeTimeout
            self.coalesceTimeout = coalesceTimeout
        }
    }

    public let store: any CacheStore
    public let settings: Settings
    public let metrics: CacheMetrics
    let logger: Logger
    /// Seconds since 1970 on the wall clock (Date and Expires are wall-clock times).
    let clock: @Sendable () -> Int
    private let flights = NIOLockedValueBox<[CacheObjectName: Flight]>([:])
    private let health = NIOLockedValueBox(CacheStoreHealth(isUp: true))

    /// The object names of recent keys: a lookup hashes its key only when it is not among them.
    private let names = NIOLockedValueBox<[String: CacheObjectName]>([:])
    /// How many names are kept before they are all let go.
    static let namesKept = 4096

    /// Requests waiting for the fill (or revalidation) of one name.
    struct Flight {
        var waiters: [EventLoopPromise<Void>] = []
    }

    /// How many body bytes may wait for the store before the backend is held.
    static let fillHighWater = 1 << 20

    public init(
        store: any CacheStore,
        settings: Settings,
        metrics: CacheMetrics,
        logger: Logger,
        clock: @escaping @Sendable () -> Int = HTTPCache.wallClock
    ) {
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        metrics.storeUp.record(1)
    }

    // MARK: Health and statistics

    public var storeHealth: CacheStoreHealth { health.withLockedValue { $0 } }

    /// Checks the store now; while it is down every request bypasses it.
    public func checkHealth(on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreHealth> {
        timed(store.checkHealth(on: eventLoop), on: eventLoop).recover { error in
            CacheStoreHealth(isUp: false, detail: "\(error)")
        }.map { [self] result in
            let previous = health.withLockedValue { health in
                defer { health = result }
                return health
            }
            if previous.isUp != result.isUp {
                if result.isUp {
                    logger.info("cache store is up again")
                } else {
                    logger.error("cache store is down; requests bypass it", metadata: ["detail": "\(result.detail)"])
                }
            }
            metrics.storeUp.record(result.isUp ? 1 : 0)
            let usage = store.usage
            metrics.storedBytes.record(usage.bytes)
            metrics.evicted(total: usage.evictions)
            return result
        }
    }

    public var statistics: CacheStatistics {
        let counts = metrics.snapshot
        let usage = store.usage
        metrics.evicted(total: usage.evictions)
        return CacheStatistics(
            results: Dictionary(uniqueKeysWithValues: CacheMetrics.Result.allCases.map { ($0.rawValue, counts.results[$0.index]) }),
            backgroundRevalidations: Dictionary(
                uniqueKeysWithValues: CacheMetrics.Background.allCases.map { ($0.rawValue, counts.background[$0.index]) }
            ),
            bytesIn: counts.bytesIn,
            bytesOut: counts.bytesOut,
            storeErrors: counts.storeErrors,
            objects: usage.objects,
            storedBytes: usage.bytes,
            evictions: usage.evictions,
            storeHealth: storeHealth
        )
    }

    /// Removes what is stored for `uri` (`scheme://host/path?query`), every `Vary` variant
    /// included, answering how many objects went.
    public func purge(uri: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        store.removeVariants(of: CacheKey(uri: uri).objectName, on: eventLoop)
    }

    /// Removes what is stored for every URI starting with `prefix`; `nil` when the store cannot (only the disk
    /// store reads its objects' URIs back).
    public func purge(prefix: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int>? {
        store.removeObjects(withURIPrefix: prefix, on: eventLoop)
    }

    /// Removes every stored object.
    public func purgeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        store.removeAll(on: eventLoop)
    }

    // MARK: Lookup

    public func lookup(_ request: CacheRequest, on eventLoop: any EventLoop) -> EventLoopFuture<CacheLookup> {
        answer(request, on: eventLoop).future(on: eventLoop)
    }

    /// The lookup, answered at once when nothing has to be read from the store: a bypass, or a
    /// response whose copy the store holds in memory (``CacheStore/heldObject(_:)``).
    public func answer(_ request: CacheRequest, on eventLoop: any EventLoop) -> CacheAnswer {
        if request.method == .CONNECT || request.headers.contains(name: "upgrade") {
            return .now(.bypass)
        }
        guard let key = CacheKey(scheme: request.scheme, host: request.headers.first(name: "host"), target: request.target) else {
            metrics.count(.bypass)
            return .now(.bypass)
        }
        if !CachePolicy.isSafe(request.method) {
            return .now(.miss(InvalidatingFill(cache: self, method: request.method, key: key, eventLoop: eventLoop)))
        }
        guard request.method == .GET || request.method == .HEAD else {
            return .now(.bypass)
        }
        let context = LookupContext(request: request, key: key, control: CacheControl(request.headers), requestTime: clock(), eventLoop: eventLoop)
        guard storeHealth.isUp else {
            return .now(bypass(context, detail: "store-down"))
        }
        return find(context, coalesced: false)
    }

    /// One lookup's request and what was worked out from it, shared by reference: it is handed down the lookup and
    /// kept by the fill, and a copy of each field at every step cost more than the one allocation.
    final class LookupContext: Sendable {
        let request: CacheRequest
        let key: CacheKey
        let control: CacheControl
        let requestTime: Int
        let eventLoop: any EventLoop
        let isHEAD: Bool

        init(request: CacheRequest, key: CacheKey, control: CacheControl, requestTime: Int, eventLoop: any EventLoop) {
            self.request = request
            self.key = key
            self.control = control
            self.requestTime = requestTime
            self.eventLoop = eventLoop
            isHEAD = request.method == .HEAD
        }
    }

    /// The name of `key`'s object (``CacheKey/objectName``), remembered.
    func objectName(of key: CacheKey) -> CacheObjectName {
        if let name = names.withLockedValue({ $0[key.uri] }) { return name }
        let name = key.objectName
        names.withLockedValue { names in
            if names.count >= Self.namesKept { names.removeAll(keepingCapacity: true) }
            names[key.uri] = name
        }
        return name
    }

    private func find(_ context: LookupContext, coalesced: Bool) -> CacheAnswer {
        let primary = objectName(of: context.key)
        return opened(primary, context) { [self] object in
            guard let object else {
                return miss(context, name: primary, forward: .uriMiss, coalesced: coalesced)
            }
            guard let entry = object.head ?? CacheEntryHead(decoding: object.metadata), entry.uri == context.key.uri else {
                object.release()
                _ = store.remove(primary, on: context.eventLoop)
                return miss(context, name: primary, forward: .uriMiss, coalesced: coalesced)
            }
            guard entry.kind == .variants else {
                return decide(context, entry: entry, object: object, name: primary, coalesced: coalesced)
            }
            object.release()
            let secondary = context.key.objectName(variant: VaryValue.values(of: entry.varyNames, in: context.request.headers))
            return opened(secondary, context) { [self] object in
                guard let object else {
                    return miss(context, name: primary, forward: .varyMiss, coalesced: coalesced)
                }
                guard let entry = object.head ?? CacheEntryHead(decoding: object.metadata), entry.uri == context.key.uri, entry.kind == .response else {
                    object.release()
                    _ = store.remove(secondary, on: context.eventLoop)
                    return miss(context, name: primary, forward: .varyMiss, coalesced: coalesced)
                }
                return decide(context, entry: entry, object: object, name: secondary, coalesced: coalesced)
            }
        }
    }

    /// `then` with the object stored under `name`: at once when the store holds a copy at hand,
    /// else once the store has answered. A store that fails is bypassed.
    private func opened(_ name: CacheObjectName, _ context: LookupContext, then: @escaping @Sendable (CacheStoreObject?) -> CacheAnswer) -> CacheAnswer {
        if let held = store.heldObject(name) { return then(held) }
        let loop = context.eventLoop
        return .later(open(name, on: loop).flatMap { object in
            then(object).future(on: loop)
        }.flatMapError { [self] error in
            storeFault(error, doing: "lookup")
            return loop.makeSucceededFuture(bypass(context, detail: "store-error"))
        })
    }

    /// What to do with a stored response found for the request (RFC 9111 4).
    private func decide(
        _ context: LookupContext,
        entry: CacheEntryHead,
        object: CacheStoreObject,
        name: CacheObjectName,
        coalesced: Bool
    ) -> CacheAnswer {
        // RFC 9111 4.1: the stored response is used only when the fields it varies on match.
        let varyNames = if let decoded = object.decoded { decoded.varyFieldNames } else { VaryValue.fieldNames(in: entry.headers) }
        guard let varyNames,
            VaryValue.values(of: varyNames, in: context.request.headers) == entry.variant
        else {
            object.release()
            return miss(context, name: objectName(of: context.key), forward: .varyMiss, coalesced: coalesced)
        }
        let now = clock()
        let use = settings.policy.use(of: entry, requestControl: context.control, requestHeaders: context.request.headers, now: now)
        switch use {
        case .fresh(let age, let ttl):
            metrics.count(.hit)
            let status = CacheStatus(hit: true, ttl: ttl, collapsed: coalesced)
            return .now(.hit(serveHit(context, entry: entry, object: object, age: age, status: status)))
        case .staleAllowed(let age, let ttl):
            metrics.count(.stale)
            let status = CacheStatus(hit: true, ttl: ttl, detail: "max-stale")
            return .now(.hit(serveHit(context, entry: entry, object: object, age: age, status: status)))
        case .staleWhileRevalidate(let age, let ttl):
            // RFC 5861 3: served stale at once, while one background request per stored response
            // revalidates it (with its validators, or, without any, fetches it again). A `HEAD`
            // or a request with validators of its own does not start it: the backend would
            // answer them, not the cache's question.
            metrics.count(.stale)
            let status = CacheStatus(hit: true, ttl: ttl, detail: "stale-while-revalidate")
            let served = serveHit(context, entry: entry, object: object, age: age, status: status)
            guard !context.isHEAD, !CachePolicy.isConditional(context.request.headers), beginFlight(name) else {
                return .now(.hit(served))
            }
            let fill = StoringFill(cache: self, context: context, forward: .stale, flight: name, revalidating: (entry, name, nil), inBackground: true)
            return .now(.hitRevalidatingInBackground(served, conditions: CachePolicy.conditions(for: entry) ?? [:], fill: fill))
        case .validate(let age, _):
            if context.control.onlyIfCached {
                object.release()
                return .now(.hit(Self.gatewayTimeout()))
            }
            // A request with its own validators goes as it is: the backend's 304 is for them.
            guard !CachePolicy.isConditional(context.request.headers), let conditions = CachePolicy.conditions(for: entry) else {
                object.release()
                return miss(context, name: objectName(of: context.key), forward: context.control.noCache ? .request : .stale, coalesced: true)
            }
            return .now(revalidate(context, entry: entry, object: object, name: name, conditions: conditions, age: age, flight: nil))
        }
    }

    private func revalidate(
        _ context: LookupContext,
        entry: CacheEntryHead,
        object: CacheStoreObject,
        name: CacheObjectName,
        conditions: HTTPHeaders,
        age: Int,
        flight: CacheObjectName?
    ) -> CacheLookup {
        let servesOnError = settings.policy.servesStaleOnError(entry, requestControl: context.control, now: clock())
        let stored = serve(context, entry: entry, object: object, age: age, status: CacheStatus(forward: .stale), validated: true)
        stored.servesOnError = servesOnError
        let fill = StoringFill(
            cache: self,
            context: context,
            forward: .stale,
            flight: flight,
            revalidating: (entry, name, stored)
        )
        return .revalidate(stored, conditions: conditions, fill: fill)
    }

    private func miss(_ context: LookupContext, name: CacheObjectName, forward: CacheStatus.Forward, coalesced: Bool) -> CacheAnswer {
        let loop = context.eventLoop
        if context.control.onlyIfCached {
            return .now(.hit(Self.gatewayTimeout()))
        }
        guard settings.coalesce, !coalesced, !context.isHEAD else {
            return .now(.miss(StoringFill(cache: self, context: context, forward: forward, flight: nil)))
        }
        let waiter = loop.makePromise(of: Void.self)
        let leads: Bool = flights.withLockedValue { flights in
            if flights[name] != nil {
                flights[name]!.waiters.append(waiter)
                return false
            }
            flights[name] = Flight()
            return true
        }
        if leads {
            waiter.succeed(())
            return .now(.miss(StoringFill(cache: self, context: context, forward: forward, flight: name)))
        }
        // Another request for this name is at the backend: wait for it to be stored.
        let timeout = loop.scheduleTask(in: settings.coalesceTimeout) { waiter.fail(CacheStoreError.timedOut) }
        return .later(waiter.futureResult.flatMap { [self] in
            timeout.cancel()
            return find(context, coalesced: true).future(on: loop)
        }.flatMapError { [self] _ in
            loop.makeSucceededFuture(.miss(StoringFill(cache: self, context: context, forward: forward, flight: nil)))
        })
    }

    /// Proxies the request without the store, saying why in `Cache-Status`.
    private func bypass(_ context: LookupContext, detail: String) -> CacheLookup {
        metrics.count(.bypass)
        if context.control.onlyIfCached {
            return .hit(Self.gatewayTimeout())
        }
        return .miss(StatusFill(status: CacheStatus(forward: .miss, detail: detail)))
    }

    /// Registers a fill or revalidation of `name`; `false` when one is in flight already.
    private func beginFlight(_ name: CacheObjectName) -> Bool {
        flights.withLockedValue { flights in
            guard flights[name] == nil else { return false }
            flights[name] = Flight()
            return true
        }
    }

    /// How many fills or revalidations are in flight.
    var flightCount: Int { flights.withLockedValue { $0.count } }

    /// The fill or revalidation of `name` is over: its waiters look again.
    func endFlight(_ name: CacheObjectName) {
        let waiters: [EventLoopPromise<Void>] = flights.withLockedValue { flights in
            flights.removeValue(forKey: name)?.waiters ?? []
        }
        for waiter in waiters {
            waiter.succeed(())
        }
    }

    // MARK: Serving from the store

    /// The stored response served without validation: a plain hit on a copy in memory as a
    /// ``HeldHit``, its head's lines encoded once; anything else (a conditional request
    /// answered `304`, a `Range`, a copy on disk or in S3) through ``serve(_:entry:object:age:status:validated:)``.
    func serveHit(
        _ context: LookupContext,
        entry: CacheEntryHead,
        object: CacheStoreObject,
        age: Int,
        status: CacheStatus
    ) -> any StoredResponse {
        guard let decoded = object.decoded, let lines = decoded.servedLines, let body = object.heldBody, body.readableBytes == object.bodyLength,
            !CachePolicy.answersNotModified(context.request.headers, entry: entry),
            context.isHEAD || entry.status != 200
                || ByteRange.select(request: context.request.headers, stored: entry.headers, bodyLength: object.bodyLength) == .whole
        else {
            return serve(context, entry: entry, object: object, age: age, status: status, validated: false)
        }
        return HeldHit(cache: self, decoded: decoded, object: object, lines: lines, body: body, age: age, status: status)
    }

    /// The stored response as the client gets it: `304` to its own matching conditional
    /// request (RFC 9111 4.3.2), `206`/`416` to a `Range` (RFC 9110 14), else whole.
    func serve(
        _ context: LookupContext,
        entry: CacheEntryHead,
        object: CacheStoreObject,
        age: Int,
        status: CacheStatus,
        validated: Bool
    ) -> StoredEntry {
        let fields = settings.policy.servedFields(
            entry,
            age: age,
            validated: validated,
            extra: ["cache-status": status.description, "content-length": String(object.bodyLength)]
        )
        if !validated, CachePolicy.answersNotModified(context.request.headers, entry: entry) {
            object.release()
            return StoredEntry(cache: self, head: HTTPResponseHead(version: .http1_1, status: .notModified, headers: CachePolicy.notModifiedFields(fields)), object: nil, range: nil)
        }
        var range: (Int, Int)? = (0, object.bodyLength)
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: entry.status), headers: fields)
        if !context.isHEAD, entry.status == 200 {
            switch ByteRange.select(request: context.request.headers, stored: entry.headers, bodyLength: object.bodyLength) {
            case .whole:
                break
            case .partial(let offset, let length):
                head.status = .partialContent
                head.headers.replaceOrAdd(name: "content-range", value: "bytes \(offset)-\(offset + length - 1)/\(object.bodyLength)")
                head.headers.replaceOrAdd(name: "content-length", value: String(length))
                range = (offset, length)
            case .unsatisfiable:
                head.status = .rangeNotSatisfiable
                head.headers.replaceOrAdd(name: "content-range", value: "bytes */\(object.bodyLength)")
                head.headers.replaceOrAdd(name: "content-length", value: "0")
                range = nil
            }
        }
        if context.isHEAD || range == nil {
            object.release()
            return StoredEntry(cache: self, head: head, object: nil, range: nil)
        }
        return StoredEntry(cache: self, head: head, object: object, range: range)
    }

    /// RFC 9111 5.2.1.7: `only-if-cached` with nothing usable stored.
    static func gatewayTimeout() -> StoredEntry {
        let head = HTTPResponseHead(
            version: .http1_1,
            status: .gatewayTimeout,
            headers: ["content-length": "0", "cache-status": CacheStatus(detail: "only-if-cached").description]
        )
        return StoredEntry(cache: nil, head: head, object: nil, range: nil)
    }

    // MARK: The store, bounded

    func open(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreObject?> {
        // A copy at hand needs no timeout, nor does an object the store knows it does not hold.
        if let held = store.heldObject(name) { return eventLoop.makeSucceededFuture(held) }
        guard store.mayHold(name) else { return eventLoop.makeSucceededFuture(nil) }
        let started = NIODeadline.now()
        // An object that arrives after its timeout is let go.
        let result = timed(store.open(name, on: eventLoop), on: eventLoop) { object in object?.release() }
        result.whenComplete { [metrics] _ in metrics.storeDuration.record(Double((NIODeadline.now() - started).nanoseconds) / 1e9) }
        return result
    }

    /// `future`, failed with ``CacheStoreError/timedOut`` after the store timeout; a value
    /// that comes later goes to `late`.
    func timed<Value: Sendable>(
        _ future: EventLoopFuture<Value>,
        on eventLoop: any EventLoop,
        late: @escaping @Sendable (Value) -> Void = { _ in }
    ) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let done = NIOLockedValueBox(false)
        let timeout = eventLoop.scheduleTask(in: settings.storeTimeout) {
            if done.withLockedValue({ done in defer { done = true }; return !done }) {
                promise.fail(CacheStoreError.timedOut)
            }
        }
        future.whenComplete { result in
            if done.withLockedValue({ done in defer { done = true }; return !done }) {
                timeout.cancel()
                promise.completeWith(result)
            } else if case .success(let value) = result {
                late(value)
            }
        }
        return promise.futureResult
    }

    func storeFault(_ error: any Error, doing what: String) {
        metrics.storeFailed()
        logger.warning("cache store failed; bypassed", metadata: ["during": "\(what)", "error": "\(error)"])
    }
}

extension HTTPCache {
    /// The wall clock in whole seconds since 1970.
    @Sendable public static func wallClock() -> Int {
        Int(TraceRecord.wallClockNow() / 1_000_000_000)
    }
}

/// What the cache has done, for `/v1/cache/stats`.
public struct CacheStatistics: Sendable, Equatable {
    /// Requests per result (`hit`, `miss`, `stale`, `revalidated`, `bypass`, `uncacheable`).
    public var results: [String: Int]
    /// Background revalidations per outcome (`validated`, `replaced`, `uncacheable`, `failed`).
    public var backgroundRevalidations: [String: Int]
    public var bytesIn: Int
    public var bytesOut: Int
    public var storeErrors: Int
    public var objects: Int
    public var storedBytes: Int
    public var evictions: Int
    public var storeHealth: CacheStoreHealth
}
