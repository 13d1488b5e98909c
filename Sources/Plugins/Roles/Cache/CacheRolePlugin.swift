import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Plugins
import Proxy

/// The `cache` role: a shared HTTP cache (RFC 9111) on local disk or an S3 bucket, offered to the proxy role as
/// its response cache (``Capability/responseCache``).
public struct CacheRolePlugin: RolePlugin {
    public typealias Settings = CacheRoleSettings

    public let name = "cache"

    public init() {}

    public var offers: [AnyCapability] { [AnyCapability(.responseCache)] }
    public var serves: String? { "proxy" }

    public func decode(_ section: ConfigMapping) throws -> CacheRoleSettings {
        try CacheSection.decode(section)
    }

    public func summary(of settings: CacheRoleSettings) -> String {
        let store: String
        switch settings.store {
        case .disk(let path, let maxSize): store = "disk \(path) (max \(ByteSize(bytes: maxSize)))"
        case .s3(let s3): store = "s3 \(s3.endpoint)/\(s3.bucket)"
        }
        let memory = settings.memory.maxSize > 0 ? "memory \(ByteSize(bytes: settings.memory.maxSize)) (objects up to \(ByteSize(bytes: settings.memory.maxObjectSize)))" : "memory off"
        return "store \(store); \(memory); objects \(ByteSize(bytes: settings.cache.minSize))...\(ByteSize(bytes: settings.cache.maxObjectSize)); coalesce \(settings.cache.coalesce ? "on" : "off")"
    }

    public func makeRole(settings: CacheRoleSettings, context: RoleContext) async throws -> any Role<CacheRoleSettings> {
        CacheRole(settings: settings, context: context)
    }
}

/// A running cache: its store, the ``HTTPCache`` on it, and the layer the proxy holds, which a reload points at a
/// new cache without the proxy noticing.
final class CacheRole: Role {
    private struct Running {
        var settings: CacheRoleSettings
        var cache: HTTPCache
        var health: RepeatedTask?
    }

    private let context: RoleContext
    private let metrics: CacheMetrics
    private let layer = ResponseCacheLayer()
    private let state: NIOLockedValueBox<(running: Running?, settings: CacheRoleSettings, stopped: Bool)>
    private let stopped = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
    private let stoppedFlag = NIOLockedValueBox(false)

    init(settings: CacheRoleSettings, context: RoleContext) {
        self.context = context
        self.metrics = CacheMetrics(factory: context.metrics)
        self.state = NIOLockedValueBox((nil, settings, false))
    }

    var offers: CapabilityOffers {
        var offers = CapabilityOffers()
        offers.offer(layer as any ResponseCache, as: .responseCache)
        return offers
    }

    func start() async throws {
        let settings = state.withLockedValue { $0.settings }
        let running = try await open(settings)
        state.withLockedValue { $0.running = running }
        layer.replace(with: running.cache)
        addAdminRoutes()
    }

    /// Opens the store of `settings` and a cache on it, its health checked now and then.
    private func open(_ settings: CacheRoleSettings, reusing existing: Running? = nil) async throws -> Running {
        var store: any CacheStore
        if let existing, existing.settings.store == settings.store {
            store = existing.cache.store
            if existing.settings.memory != settings.memory {
                // The same store under a new memory tier (or none): the old tier's copies go with it.
                store = (store as? MemoryTier)?.store ?? store
                store = CacheStoreFactory.tier(store, settings.memory)
            }
        } else {
            do {
                store = try await CacheStoreFactory.open(settings.store, group: context.eventLoopGroup, logger: context.logger)
            } catch {
                throw CacheRoleError("cache store: \(error)")
            }
            store = CacheStoreFactory.tier(store, settings.memory)
        }
        let cache = HTTPCache(store: store, settings: settings.cache, metrics: metrics, logger: context.logger)
        let loop = context.eventLoopGroup.next()
        _ = try? await cache.checkHealth(on: loop).get()
        let interval = TimeAmount.nanoseconds(settings.healthInterval.nanoseconds)
        let health = loop.scheduleRepeatedAsyncTask(initialDelay: interval, delay: interval) { _ in
            cache.checkHealth(on: loop).map { _ in }
        }
        return Running(settings: settings, cache: cache, health: health)
    }

    func run() async {
        await withCheckedContinuation { continuation in
            let resumeNow: Bool = stoppedFlag.withLockedValue { flag in
                if !flag { stopped.withLockedValue { $0 = continuation } }
                return flag
            }
            if resumeNow { continuation.resume() }
        }
    }

    func shutdown(grace: Duration) async {
        let running = state.withLockedValue { state in
            defer { state.running = nil }
            return state.running
        }
        layer.replace(with: nil)
        running?.health?.cancel()
        if let running {
            try? await running.cache.store.shutdown().get()
        }
        let continuation: CheckedContinuation<Void, Never>? = stoppedFlag.withLockedValue { flag in
            flag = true
            return stopped.withLockedValue { stored in
                defer { stored = nil }
                return stored
            }
        }
        continuation?.resume()
    }

    /// A changed store or policy: a new cache (on a new store when the store changed) takes the next requests; the
    /// proxy's connections are not touched. The old store is closed once requests in flight have had time to finish.
    func reconfigure(to settings: CacheRoleSettings) async throws -> Reconfiguration {
        let old = state.withLockedValue { $0.running }
        let running = try await open(settings, reusing: old)
        state.withLockedValue { state in
            state.running = running
            state.settings = settings
        }
        layer.replace(with: running.cache)
        if let old {
            old.health?.cancel()
            if old.settings.store != settings.store {
                let store = old.cache.store
                let grace = context.shutdownGrace
                Task {
                    try? await Task.sleep(for: grace)
                    try? await store.shutdown().get()
                }
            }
        }
        return .applied
    }

    func status() async -> JSONValue {
        guard let running = state.withLockedValue({ $0.running }) else { return ["state": "stopped"] }
        return Self.json(running.cache.statistics, store: running.settings.store, memory: running.cache.store as? MemoryTier)
    }

    static func json(_ statistics: CacheStatistics, store: CacheRoleSettings.Store, memory: MemoryTier?) -> JSONValue {
        let storeKind: JSONValue
        switch store {
        case .disk(let path, let maxSize): storeKind = ["kind": "disk", "path": .string(path), "max_size": .number(Double(maxSize))]
        case .s3(let s3): storeKind = ["kind": "s3", "endpoint": .string(s3.endpoint), "bucket": .string(s3.bucket)]
        }
        let results = JSONValue.object(statistics.results.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })
        let held = memory?.memoryUsage
        return [
            "store": storeKind,
            "memory": held.map { ["objects": .number(Double($0.objects)), "bytes": .number(Double($0.bytes)), "hits": .number(Double($0.hits))] } ?? .null,
            "store_up": .bool(statistics.storeHealth.isUp),
            "store_detail": .string(statistics.storeHealth.detail),
            "requests": results,
            "background_revalidations": .object(
                statistics.backgroundRevalidations.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) }
            ),
            "hits": .number(Double(statistics.results["hit", default: 0])),
            "misses": .number(Double(statistics.results["miss", default: 0] + statistics.results["uncacheable", default: 0])),
            "bytes_in": .number(Double(statistics.bytesIn)),
            "bytes_out": .number(Double(statistics.bytesOut)),
            "objects": .number(Double(statistics.objects)),
            "stored_bytes": .number(Double(statistics.storedBytes)),
            "evictions": .number(Double(statistics.evictions)),
            "store_errors": .number(Double(statistics.storeErrors)),
        ]
    }

    /// `GET /v1/cache/stats`; `POST /v1/cache/purge?url=<absolute URL>` (what is stored for that URL),
    /// `?prefix=<absolute URL prefix>` (disk store: every URL under it) or `?all=true` (everything).
    private func addAdminRoutes() {
        context.admin.add(.GET, "/stats") { [self] _ in
            guard let running = state.withLockedValue({ $0.running }) else { throw AdminError.serviceUnavailable("cache is stopped") }
            return .json(Self.json(running.cache.statistics, store: running.settings.store, memory: running.cache.store as? MemoryTier))
        }
        context.admin.add(.POST, "/purge") { [self] request in
            guard let running = state.withLockedValue({ $0.running }) else { throw AdminError.serviceUnavailable("cache is stopped") }
            let query = Self.queryItems(request.query ?? "")
            let loop = context.eventLoopGroup.next()
            if query["all"] == "true" {
                let removed = try await running.cache.purgeAll(on: loop).get()
                return .json(["purged": .number(Double(removed))])
            }
            if let prefix = query["prefix"] {
                guard let key = CacheKey(scheme: "http", host: nil, target: prefix) else {
                    throw AdminError.badRequest("purge prefix must be an absolute http(s) URL prefix, such as http://host/path/")
                }
                guard let purge = running.cache.purge(prefix: key.uri, on: loop) else {
                    throw AdminError.badRequest("purge by prefix needs the disk store")
                }
                return .json(["purged": .number(Double(try await purge.get()))])
            }
            guard let url = query["url"], let key = CacheKey(scheme: "http", host: nil, target: url) else {
                throw AdminError.badRequest("purge needs ?url=<absolute http(s) URL>, ?prefix=<URL prefix> or ?all=true")
            }
            let removed = try await running.cache.purge(uri: key.uri, on: loop).get()
            return .json(["purged": .string(key.uri), "objects": .number(Double(removed))])
        }
    }

    static func queryItems(_ query: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = parts.first else { continue }
            items[String(name)] = parts.count > 1 ? percentDecoded(String(parts[1])) : ""
        }
        return items
    }

    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
