import Plugins
import Proxy

/// Reads `roles.cache` into ``CacheRoleSettings``: every key of the schema, with its defaults.
enum CacheSection {
    static func decode(_ section: ConfigMapping) throws -> CacheRoleSettings {
        let decoder = section.decoder
        let before = decoder.problemCount
        var settings = CacheRoleSettings()

        if section.value("store") != nil, let store = section.mapping("store") {
            let disk = store.value("disk")
            let s3 = store.value("s3")
            switch (disk, s3) {
            case (.some, .some):
                decoder.record("roles.cache.store takes exactly one of disk and s3, not both", at: store.location)
            case (nil, nil):
                decoder.record("roles.cache.store needs one of disk or s3", at: store.location)
            case (.some, nil):
                if let disk = store.mapping("disk") {
                    let path = disk.value("path", default: "/var/cache/outrider")
                    let maxSize = disk.value("max_size", default: ByteSize(bytes: 10 << 30)).bytes
                    if path.isEmpty { decoder.record("roles.cache.store.disk.path must not be empty", at: disk.value("path")?.location ?? disk.location) }
                    if maxSize <= 0 { decoder.record("roles.cache.store.disk.max_size must be more than 0", at: disk.value("max_size")?.location ?? disk.location) }
                    disk.finish()
                    settings.store = .disk(path: path, maxSize: maxSize)
                }
            case (nil, .some):
                if let s3 = store.mapping("s3") {
                    let endpoint = s3.required("endpoint", as: String.self)
                    let bucket = s3.required("bucket", as: String.self)
                    let region = s3.value("region", default: "us-east-1")
                    let accessKey = s3.required("access_key", as: String.self)
                    let secretKey = s3.required("secret_key", as: String.self)
                    let ca = s3.optional("ca", as: String.self)
                    var healthPath: String?
                    var healthInterval = Duration.seconds(60)
                    if let health = s3.mapping("health") {
                        healthPath = health.optional("path", as: String.self)
                        healthInterval = health.value("interval", default: healthInterval, in: .seconds(1) ... .seconds(86400))
                        health.finish()
                    }
                    if let endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                        decoder.record("roles.cache.store.s3.endpoint must be an http:// or https:// URL, found '\(endpoint)'", at: s3.value("endpoint")!.location)
                    }
                    for (key, value) in [("bucket", bucket), ("access_key", accessKey), ("secret_key", secretKey)] {
                        if let value, value.isEmpty {
                            decoder.record("roles.cache.store.s3.\(key) must not be empty", at: s3.value(key)!.location)
                        }
                    }
                    let s3Location = store.value("s3")!.location
                    s3.finish()
                    if let endpoint, let bucket, let accessKey, let secretKey {
                        settings.store = .s3(CacheRoleSettings.S3(
                            endpoint: endpoint, bucket: bucket, region: region, accessKey: accessKey, secretKey: secretKey,
                            ca: ca, healthPath: healthPath, healthInterval: healthInterval
                        ))
                        do {
                            _ = try S3StoreSettings(
                                endpoint: endpoint, bucket: bucket, region: region, accessKey: accessKey, secretKey: secretKey,
                                caFile: ca, healthPath: healthPath, healthInterval: healthInterval
                            ).clientConfiguration()
                        } catch {
                            decoder.record("roles.cache.store.s3: \(error)", at: s3Location)
                        }
                    }
                }
            }
            store.finish()
        }

        if section.value("memory") != nil, let memory = section.mapping("memory") {
            settings.memory.maxSize = memory.value("max_size", default: ByteSize(bytes: settings.memory.maxSize)).bytes
            settings.memory.maxObjectSize = memory.value("max_object_size", default: ByteSize(bytes: settings.memory.maxObjectSize)).bytes
            if settings.memory.maxSize < 0 {
                decoder.record("roles.cache.memory.max_size must be 0 (off) or more", at: memory.value("max_size")?.location ?? memory.location)
            }
            if settings.memory.maxSize > 0, settings.memory.maxObjectSize <= 0 || settings.memory.maxObjectSize > settings.memory.maxSize {
                decoder.record(
                    "roles.cache.memory.max_object_size must be more than 0 and at most max_size",
                    at: memory.value("max_object_size")?.location ?? memory.location
                )
            }
            memory.finish()
        }

        settings.cache.minSize = section.value("min_size", default: ByteSize(bytes: 0)).bytes
        settings.cache.maxObjectSize = section.value("max_object_size", default: ByteSize(bytes: 5 << 30)).bytes
        if settings.cache.minSize < 0 || settings.cache.maxObjectSize <= 0 || settings.cache.minSize > settings.cache.maxObjectSize {
            decoder.record("roles.cache: min_size must be between 0 and max_object_size", at: section.value("min_size")?.location ?? section.location)
        }
        let staleIfError = section.value("stale_if_error", default: Duration.zero, in: .zero ... .seconds(365 * 86400))
        settings.cache.policy = CachePolicy(staleIfError: Int(staleIfError.components.seconds))
        settings.cache.coalesce = section.value("coalesce", default: true)
        let storeTimeout = section.value("store_timeout", default: Duration.seconds(2), in: .milliseconds(1) ... .seconds(600))
        settings.cache.storeTimeout = .nanoseconds(storeTimeout.nanoseconds)
        section.finish()
        if decoder.problemCount != before { throw ConfigProblemsRecorded() }
        return settings
    }
}
