import Logging
import NIOConcurrencyHelpers
import NIOCore
import ObjectStore

/// The cache's objects in an S3 bucket shared by every sidecar (sidekick's "High Performance S3 Cache"), one
/// object per cache entry named by the entry's SHA-256 (`keyPrefix` + 64 hex digits), laid out as
/// `S3StoreLayout` says: a lookup is one HEAD, a hit one GET (a ranged GET for a `Range` request).
///
/// A fill is visible only once complete: with a known length one PUT with `Content-Length` streamed as the
/// response arrives, otherwise a multipart upload completed after the last byte; an aborted or failed fill
/// leaves nothing (the PUT never completes, the multipart upload is aborted). Any S3 failure fails the future;
/// the cache then bypasses the store. Failures are counted (`errors`) and the last one kept for status.
public final class S3Store: CacheStore {
    public let settings: S3StoreSettings
    let client: S3Client
    let group: any EventLoopGroup
    let logger: Logger
    private let counters = NIOLockedValueBox(Counters())

    struct Counters {
        var usage = CacheStoreUsage()
        var errors = 0
        var lastError: String?
        var wasUp: Bool?
    }

    /// Fails with a one-line reason on a bad endpoint, empty credentials or an unreadable CA file; it does not
    /// contact S3 (the first health check does).
    public init(settings: S3StoreSettings, eventLoopGroup: any EventLoopGroup, logger: Logger) throws(S3Error) {
        self.settings = settings
        self.group = eventLoopGroup
        self.logger = logger
        self.client = try S3Client(configuration: settings.clientConfiguration(), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Store requests that failed (not counting a missing object), since start.
    public var errors: Int { counters.withLockedValue { $0.errors } }
    /// The last failure, as a one-line reason.
    public var lastError: String? { counters.withLockedValue { $0.lastError } }

    public var usage: CacheStoreUsage { counters.withLockedValue { $0.usage } }

    func key(_ name: CacheObjectName) -> String { settings.keyPrefix + name.hex }

    /// Runs `body` as a task whose result completes a future on `eventLoop`; an error is counted and logged.
    func future<Value: Sendable>(
        on eventLoop: any EventLoop, _ body: @escaping @Sendable () async throws -> Value
    ) -> EventLoopFuture<Value> {
        eventLoop.makeFutureWithTask {
            do {
                return try await body()
            } catch {
                self.record(error)
                throw error
            }
        }
    }

    func record(_ error: any Error) {
        let line = "\(error)"
        counters.withLockedValue {
            $0.errors += 1
            $0.lastError = line
        }
        logger.warning("cache store request failed", metadata: ["store": "\(settings.endpoint)/\(settings.bucket)", "error": "\(line)"])
    }

    // MARK: - CacheStore

    public func open(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreObject?> {
        let key = key(name)
        return future(on: eventLoop) { () async throws -> CacheStoreObject? in
            guard let head = try await self.client.headObject(bucket: self.settings.bucket, key: key) else { return nil }
            guard let layout = S3StoreLayout(userMetadata: head.metadata, objectLength: head.contentLength) else {
                // Not a whole object of ours (a foreign object, or an inconsistent length): a miss, and removed.
                try? await self.client.deleteObject(bucket: self.settings.bucket, key: key)
                return nil
            }
            let metadata: ByteBuffer
            switch layout.head {
            case .inline(let bytes):
                metadata = bytes
            case .block(let length):
                guard let object = try await self.client.getObject(
                    bucket: self.settings.bucket, key: key, range: .bounded(first: 0, last: Int64(length) - 1), ifMatch: head.etag)
                else { return nil }
                let block = try await object.collect(upTo: length)
                guard block.readableBytes == length else {
                    try? await self.client.deleteObject(bucket: self.settings.bucket, key: key)
                    return nil
                }
                metadata = block
            }
            let bodyLength = layout.bodyLength ?? Int(head.contentLength) - layout.headBlockLength
            let reader = S3StoreBodyReader.Source(
                store: self, key: key, etag: head.etag, bodyStart: layout.headBlockLength, bodyLength: bodyLength)
            return CacheStoreObject(
                metadata: metadata, bodyLength: bodyLength,
                readBody: { offset, length in S3StoreBodyReader(source: reader, offset: offset, length: length) },
                release: {})
        }
    }

    public func beginFill(
        _ name: CacheObjectName, metadata: ByteBuffer, bodyLength: Int?, on eventLoop: any EventLoop
    ) -> EventLoopFuture<any CacheStoreWriter> {
        let layout = S3StoreLayout(metadata: metadata, bodyLength: bodyLength)
        let prefix: ByteBuffer? = layout.headBlockLength > 0 ? metadata : nil
        let upload = client.beginUpload(
            bucket: settings.bucket, key: key(name), length: bodyLength.map { Int64($0 + layout.headBlockLength) }, prefix: prefix,
            contentType: "application/octet-stream", metadata: layout.userMetadata)
        let writer: any CacheStoreWriter = S3StoreWriter(store: self, upload: upload, bodyLength: bodyLength, headLength: layout.headBlockLength)
        return eventLoop.makeSucceededFuture(writer)
    }

    /// S3 changes metadata only by copying an object onto itself; an inline head is replaced that way (only while
    /// the object is still the version looked at). A head stored as a block at the start of the object cannot be
    /// changed without rewriting the body, so that object is removed instead: the next request refills it.
    public func replaceMetadata(_ name: CacheObjectName, metadata: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let key = key(name)
        return future(on: eventLoop) {
            guard let head = try await self.client.headObject(bucket: self.settings.bucket, key: key) else { return }
            guard let old = S3StoreLayout(userMetadata: head.metadata, objectLength: head.contentLength) else {
                try await self.client.deleteObject(bucket: self.settings.bucket, key: key)
                return
            }
            let new = S3StoreLayout(head: .inline(metadata), bodyLength: old.bodyLength)
            guard old.headBlockLength == 0, metadata.readableBytes <= S3StoreLayout.inlineLimit else {
                try await self.client.deleteObject(bucket: self.settings.bucket, key: key)
                return
            }
            do throws(S3Error) {
                try await self.client.replaceMetadata(
                    bucket: self.settings.bucket, key: key, metadata: new.userMetadata, contentType: "application/octet-stream", ifMatch: head.etag)
            } catch {
                // Replaced by a newer fill meanwhile: that one stands.
                if error.status == 412 { return }
                throw error
            }
        }
    }

    public func remove(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let key = key(name)
        return future(on: eventLoop) {
            let head = try await self.client.headObject(bucket: self.settings.bucket, key: key)
            try await self.client.deleteObject(bucket: self.settings.bucket, key: key)
            if let head { self.forget(Int(head.contentLength)) }
        }
    }

    /// The URI's object and its variants, found by listing the names that start with its name, removed with one
    /// DeleteObjects (one DeleteObject when there is a single one).
    public func removeVariants(of primary: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        future(on: eventLoop) {
            let prefix = self.key(primary)
            let entries = try await self.client.listAllObjects(bucket: self.settings.bucket, prefix: prefix).filter { entry in
                CacheObjectName(hex: String(entry.key.dropFirst(self.settings.keyPrefix.count)))?.primary == primary
            }
            try await self.delete(entries)
            return entries.count
        }
    }

    /// Every object under `keyPrefix` whose name is a cache object name (other objects in the bucket stay), with
    /// DeleteObjects, 1000 a request.
    public func removeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        future(on: eventLoop) {
            let prefix = self.settings.keyPrefix
            let entries = try await self.client.listAllObjects(bucket: self.settings.bucket, prefix: prefix.isEmpty ? nil : prefix).filter { entry in
                entry.key.hasPrefix(prefix) && CacheObjectName(hex: String(entry.key.dropFirst(prefix.count))) != nil
            }
            try await self.delete(entries)
            return entries.count
        }
    }

    private func delete(_ entries: [S3ObjectList.Entry]) async throws(S3Error) {
        switch entries.count {
        case 0:
            return
        case 1:
            try await client.deleteObject(bucket: settings.bucket, key: entries[0].key)
        default:
            try await client.deleteObjects(bucket: settings.bucket, keys: entries.map(\.key))
        }
        for entry in entries { forget(Int(entry.size)) }
    }

    /// Up when the configured health path answers 2xx (if one is configured) and the bucket can be listed with
    /// these credentials — the listing is what surfaces S3's `SignatureDoesNotMatch`, `InvalidAccessKeyId`,
    /// `AccessDenied` or `NoSuchBucket` (the cache logs a change of state, once: an error line when down).
    public func checkHealth(on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreHealth> {
        eventLoop.makeFutureWithTask {
            let health = await self.probe()
            let changed = self.counters.withLockedValue { counters in
                defer { counters.wasUp = health.isUp }
                if !health.isUp {
                    counters.errors += 1
                    counters.lastError = health.detail
                }
                return counters.wasUp != health.isUp
            }
            // The cache logs the change of state for the operator, once; this says which bucket.
            if changed {
                self.logger.debug(
                    health.isUp ? "S3 store answers" : "S3 store fails its health check",
                    metadata: ["store": "\(self.settings.endpoint)/\(self.settings.bucket)", "error": "\(health.detail)"])
            }
            return health
        }
    }

    func probe() async -> CacheStoreHealth {
        if let path = settings.healthPath {
            do throws(S3Error) {
                let status = try await client.probe(path: path)
                guard (200..<300).contains(status) else {
                    return CacheStoreHealth(isUp: false, detail: "health check GET \(path) answered \(status)")
                }
            } catch {
                return CacheStoreHealth(isUp: false, detail: "health check GET \(path): \(error)")
            }
        }
        do throws(S3Error) {
            _ = try await client.listObjects(bucket: settings.bucket, prefix: settings.keyPrefix.isEmpty ? nil : settings.keyPrefix, maxKeys: 1)
            return CacheStoreHealth(isUp: true)
        } catch {
            var detail = error.description
            if error.code == "SignatureDoesNotMatch" || error.code == "InvalidAccessKeyId" {
                detail += " (check access_key and secret_key)"
            }
            return CacheStoreHealth(isUp: false, detail: detail)
        }
    }

    public func shutdown() -> EventLoopFuture<Void> {
        group.any().makeFutureWithTask { try await self.client.shutdown() }
    }

    func committed(_ bytes: Int) {
        counters.withLockedValue {
            $0.usage.objects += 1
            $0.usage.bytes += bytes
        }
    }

    func forget(_ bytes: Int) {
        counters.withLockedValue {
            $0.usage.objects = max(0, $0.usage.objects - 1)
            $0.usage.bytes = max(0, $0.usage.bytes - bytes)
        }
    }
}
