import CacheRole
import Plugins
import Proxy
import ProxyRole
import Testing

/// `roles.cache` as the issue shows it, its errors at line:column, and the rule that a cache needs a proxy.
@Suite struct CacheSectionTests {
    let catalog = RoleCatalog([AnyRolePlugin(CacheRolePlugin()), AnyRolePlugin(ProxyRolePlugin())])
    static let proxy = """
          proxy:
            sites: [{pools: ["http://127.0.0.1:9000"]}]

        """

    func parse(_ roles: String) throws -> CacheRoleSettings {
        let configuration = try OutriderConfiguration.parse("roles:\n" + Self.proxy + roles, path: "c.yaml", catalog: catalog, environment: ["K": "key", "S": "secret"])
        let declaration = try #require(configuration.roles.first { $0.name == "cache" })
        return try #require(declaration.settings.value as? CacheRoleSettings)
    }

    func problems(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try OutriderConfiguration.parse(text, path: "c.yaml", catalog: catalog, environment: [:])
            Issue.record("expected problems", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func theIssueExampleWithADiskStore() throws {
        let settings = try parse("""
              cache:
                store:
                  disk: {path: /var/cache/outrider, max_size: 10GiB}
                min_size: 1MiB
                max_object_size: 5GiB
                stale_if_error: 30s
                coalesce: false

            """)
        #expect(settings.store == .disk(path: "/var/cache/outrider", maxSize: 10 << 30))
        #expect(settings.cache.minSize == 1 << 20)
        #expect(settings.cache.maxObjectSize == 5 << 30)
        #expect(settings.cache.policy.staleIfError == 30)
        #expect(settings.cache.coalesce == false)
    }

    @Test func defaults() throws {
        let settings = try parse("  cache: {}\n")
        #expect(settings.store == .disk(path: "/var/cache/outrider", maxSize: 10 << 30))
        #expect(settings.cache.minSize == 0)
        #expect(settings.cache.coalesce)
    }

    @Test func storeIsExactlyOneOfDiskAndS3() {
        let both = problems("roles:\n" + Self.proxy + "  cache:\n    store:\n      disk: {path: /x}\n      s3: {endpoint: http://h, bucket: b, access_key: a, secret_key: s}\n")
        #expect(both == ["6:7: roles.cache.store takes exactly one of disk and s3, not both"])
        let none = problems("roles:\n" + Self.proxy + "  cache:\n    store: {}\n")
        #expect(none == ["5:12: roles.cache.store needs one of disk or s3"])
        let unknown = problems("roles:\n" + Self.proxy + "  cache:\n    store:\n      disk: {path: /x, size: 1}\n")
        #expect(unknown.count == 1 && unknown[0].hasPrefix("6:"))
        #expect(unknown[0].contains("size"))
    }

    @Test func s3KeysAreDecodedAndCheckedWithTheirLocations() {
        let missing = problems("roles:\n" + Self.proxy + "  cache:\n    store:\n      s3: {endpoint: minio:9000, bucket: b, access_key: a}\n")
        #expect(missing.contains { $0.hasPrefix("6:11:") && $0.contains("secret_key") })
        #expect(missing.contains { $0.contains("endpoint must be an http:// or https:// URL, found 'minio:9000'") })
    }

    @Test func aCacheWithoutAProxyIsAConfigError() {
        let found = problems("roles:\n  cache:\n    store: {disk: {path: /x}}\n")
        #expect(found == ["2:3: roles.cache needs the proxy role: it serves only through response-cache, which no enabled role uses"])
    }

    @Test func theMemoryTier() throws {
        #expect(try parse("  cache: {}\n").memory == .init(maxSize: 64 << 20, maxObjectSize: 4 << 20))
        #expect(try parse("  cache:\n    memory: {max_size: 256MiB, max_object_size: 4MiB}\n").memory == .init(maxSize: 256 << 20, maxObjectSize: 4 << 20))
        #expect(try parse("  cache:\n    memory: {max_size: 0}\n").memory.maxSize == 0)
        let over = problems("roles:\n" + Self.proxy + "  cache:\n    memory: {max_size: 1MiB, max_object_size: 2MiB}\n")
        #expect(over == ["5:47: roles.cache.memory.max_object_size must be more than 0 and at most max_size"], "\(over)")
        let unknown = problems("roles:\n" + Self.proxy + "  cache:\n    memory: {size: 1MiB}\n")
        #expect(unknown.count == 1 && unknown[0].hasPrefix("5:") && unknown[0].contains("size"), "\(unknown)")
    }

    @Test func badSizesPointAtTheirKey() {
        let found = problems("roles:\n" + Self.proxy + "  cache:\n    min_size: lots\n")
        #expect(found.count == 1 && found[0].hasPrefix("5:15:"), "\(found)")
    }
}

/// sidekick's `SIDEKICK_CACHE_*` variables.
@Suite struct SidekickCacheVariablesTests {
    let full = [
        "SIDEKICK_CACHE_ENDPOINT": "https://minio:9000", "SIDEKICK_CACHE_ACCESS_KEY": "a", "SIDEKICK_CACHE_SECRET_KEY": "s",
        "SIDEKICK_CACHE_BUCKET": "sidekick-cache",
    ]

    @Test func noneSetIsNoCache() throws {
        #expect(try CacheRoleSettings.sidekick(environment: ["HOME": "/root"]) == nil)
    }

    @Test func allSetIsAnS3CacheWithSidekicksDefaults() throws {
        var environment = full
        environment["SIDEKICK_CACHE_HEALTH_DURATION"] = "30"
        let settings = try #require(try CacheRoleSettings.sidekick(environment: environment))
        #expect(settings.store == .s3(.init(endpoint: "https://minio:9000", bucket: "sidekick-cache", accessKey: "a", secretKey: "s", healthInterval: .seconds(30))))
        #expect(settings.cache.minSize == 1 << 20)
        environment["SIDEKICK_CACHE_MIN_SIZE"] = "64KiB"
        #expect(try CacheRoleSettings.sidekick(environment: environment)?.cache.minSize == 64 << 10)
    }

    @Test func problemsNameTheVariable() {
        var environment = full
        environment["SIDEKICK_CACHE_BUCKET"] = nil
        #expect(throws: CacheRoleSettings.SidekickProblem(message: "SIDEKICK_CACHE_BUCKET is required when sidekick's cache is configured (SIDEKICK_CACHE_* is set)")) {
            try CacheRoleSettings.sidekick(environment: environment)
        }
        #expect(throws: CacheRoleSettings.SidekickProblem.self) {
            try CacheRoleSettings.sidekick(environment: full.merging(["SIDEKICK_CACHE_MIN_SIZE": "big"]) { $1 })
        }
        #expect(throws: CacheRoleSettings.SidekickProblem.self) {
            try CacheRoleSettings.sidekick(environment: full.merging(["SIDEKICK_CACHE_HEALTH_DURATION": "1m"]) { $1 })
        }
    }
}
