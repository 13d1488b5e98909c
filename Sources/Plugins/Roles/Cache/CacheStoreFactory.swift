import Logging
import NIOCore
import Proxy

/// Builds the store `roles.cache.store` names.
enum CacheStoreFactory {
    /// Builds an S3 store from `store.s3`, when this build has one (`nil`: `store.s3` is a configuration error).
    static let s3: (@Sendable (CacheRoleSettings.S3, any EventLoopGroup, Logger) throws -> any CacheStore)? = nil

    static func open(_ store: CacheRoleSettings.Store, group: any EventLoopGroup, logger: Logger) async throws -> any CacheStore {
        switch store {
        case .disk(let path, let maxSize):
            return try await DiskStore.open(path: path, maxSize: maxSize, on: group.next()).get()
        case .s3(let settings):
            guard let make = s3 else { throw CacheRoleError("this build of outrider has no S3 store") }
            return try make(settings, group, logger)
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
