import Plugins
import Proxy

/// The `cache` role's settings, decoded from `roles.cache`.
public struct CacheRoleSettings: Sendable, Equatable {
    /// Where objects are kept: exactly one of `disk` and `s3`.
    public enum Store: Sendable, Equatable {
        case disk(path: String, maxSize: Int)
        case s3(S3)
    }

    /// `store.s3`: an S3-compatible bucket shared by every sidecar (sidekick's cache).
    public struct S3: Sendable, Equatable {
        public var endpoint: String
        public var bucket: String
        public var region: String
        public var accessKey: String
        public var secretKey: String
        public var ca: String?
        public var healthPath: String?
        public var healthInterval: Duration

        public init(
            endpoint: String,
            bucket: String,
            region: String = "us-east-1",
            accessKey: String,
            secretKey: String,
            ca: String? = nil,
            healthPath: String? = nil,
            healthInterval: Duration = .seconds(60)
        ) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.ca = ca
            self.healthPath = healthPath
            self.healthInterval = healthInterval
        }
    }

    /// `memory`: small objects held in memory in front of the store (``MemoryTier``); `maxSize` 0 turns it off.
    public struct Memory: Sendable, Equatable {
        public var maxSize: Int
        public var maxObjectSize: Int

        public init(maxSize: Int = 64 << 20, maxObjectSize: Int = 4 << 20) {
            self.maxSize = maxSize
            self.maxObjectSize = maxObjectSize
        }
    }

    public var store: Store
    public var memory: Memory
    public var cache: HTTPCache.Settings

    public init(
        store: Store = .disk(path: "/var/cache/outrider", maxSize: 10 << 30),
        memory: Memory = Memory(),
        cache: HTTPCache.Settings = HTTPCache.Settings()
    ) {
        self.store = store
        self.memory = memory
        self.cache = cache
    }

    /// How often the store's health is checked.
    var healthInterval: Duration {
        switch store {
        case .disk: return .seconds(10)
        case .s3(let s3): return s3.healthInterval
        }
    }
}
