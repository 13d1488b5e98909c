import Logging
import NIOCore
import Proxy

/// Builds the store `roles.cache.store` names.
enum CacheStoreFactory {
    /// Builds the S3 store `store.s3` describes; nothing is contacted until the cache asks.
    static func s3(_ s3: CacheRoleSettings.S3, group: any EventLoopGroup, logger: Logger) throws -> any CacheStore {
        try S3Store(
            settings: S3StoreSettings(
                endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKey: s3.accessKey, secretKey: s3.secretKey,
                caFile: s3.ca, healthPath: s3.healthPath, healthInterval: s3.healthInterval
            ),
            eventLoopGroup: group,
            logger: logger
        )
    }

    /// `store` behind the memory tier `memory` describes, or as it is when the tier is off.
    static func tier(_ store: any CacheStore, _ memory: CacheRoleSettings.Memory) -> any CacheStore {
        guard memory.maxSize > 0 else { return store }
        return MemoryTier(store: store, maxSize: memory.maxSize, maxObjectSize: memory.maxObjectSize)
    }

    static func open(_ store: CacheRoleSettings.Store, group: any EventLoopGroup, logger: Logger) async throws -> any CacheStore {
        switch store {
        case .disk(let path, let maxSize):
            return try await DiskStore.open(path: path, maxSize: maxSize, on: group.next()).get()
        case .s3(let settings):
            do {
                return try s3(settings, group: group, logger: logger)
            } catch {
                throw CacheRoleError("store.s3: \(error)")
            }
        }
    }
}

/// Why the cache role could not start or reload, in one line.
struct CacheRoleError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
