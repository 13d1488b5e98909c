import TestSupport
import Logging
import NIOCore
import NIOPosix
import ObjectStore
@testable import Proxy
import TestSupport
import Testing

/// The cache's S3 store against a real moto server with signature verification on.
@Suite struct S3StoreMotoTests {
    static let group = MultiThreadedEventLoopGroup.singleton

    static func name(_ seed: String) -> CacheObjectName {
        CacheObjectName(hex: SigV4Signer.payloadHash(Array(seed.utf8)))!
    }

    func withStore(
        healthPath: String? = nil, secret: String? = nil, _ body: (MotoServer, S3Client, S3Store) async throws -> Void
    ) async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let client = try moto.client(Self.group)
        try await client.createBucket("cache")
        let settings = S3StoreSettings(
            endpoint: moto.endpoint.description, bucket: "cache", accessKey: moto.credentials.accessKeyID,
            secretKey: secret ?? moto.credentials.secretAccessKey, healthPath: healthPath, requestTimeout: .seconds(180))
        let store = try S3Store(settings: settings, eventLoopGroup: Self.group, logger: Logger(label: "test.s3store"))
        do {
            try await body(moto, client, store)
        } catch {
            try? await store.shutdown().get()
            try? await client.shutdown()
            throw error
        }
        try await store.shutdown().get()
        try await client.shutdown()
    }

    func fill(_ store: S3Store, _ name: CacheObjectName, metadata: String, body: ByteChunks, declaring length: Int?) async throws {
        let loop = Self.group.next()
        let writer = try await store.beginFill(name, metadata: ByteBuffer(string: metadata), bodyLength: length, on: loop).get()
        for try await part in body { try await writer.write(part).get() }
        try await writer.commit().get()
    }

    func read(_ object: CacheStoreObject, offset: Int, length: Int) async throws -> ByteBuffer {
        let reader = object.readBody(offset, length)
        var all = ByteBuffer()
        while var part = try await reader.next(on: Self.group.next()).get() { all.writeBuffer(&part) }
        return all
    }

    /// A URI's object and its `Vary` variants go together (listed by the URI's name, deleted with DeleteObjects);
    /// another URI's objects stay. Purging everything removes the rest.
    @Test func removeVariantsRemovesTheURIAndEveryVariant() async throws {
        try await withStore { _, client, store in
            let loop = Self.group.next()
            let key = CacheKey(uri: "http://example.com/v")
            let other = CacheKey(uri: "http://example.com/other")
            let names = [
                key.objectName, key.objectName(variant: [VaryValue(name: "accept-encoding", value: "gzip")]),
                key.objectName(variant: [VaryValue(name: "accept-encoding", value: nil)]), other.objectName,
            ]
            for name in names {
                try await fill(store, name, metadata: "m", body: ByteChunks(count: 10), declaring: 10)
            }
            #expect(try await client.listAllObjects(bucket: "cache").count == 4)
            #expect(try await store.removeVariants(of: key.objectName, on: loop).get() == 3)
            #expect(try await client.listAllObjects(bucket: "cache").map(\.key) == [other.objectName.hex])
            #expect(store.usage.objects == 1)
            #expect(try await store.removeVariants(of: key.objectName, on: loop).get() == 0)
            try await fill(store, names[1], metadata: "m", body: ByteChunks(count: 10), declaring: 10)
            try await client.putObject(bucket: "cache", key: "not-a-cache-object", bytes: ByteBuffer(string: "x"))
            #expect(try await store.removeAll(on: loop).get() == 2)
            #expect(try await client.listAllObjects(bucket: "cache").map(\.key) == ["not-a-cache-object"])
        }
    }

    @Test func fillOpenAndReadWholeAndRanges() async throws {
        try await withStore { _, client, store in
            let loop = Self.group.next()
            let name = Self.name("GET http://example.com/a")
            #expect(try await store.open(name, on: loop).get() == nil)
            let length = 3 << 20
            try await fill(store, name, metadata: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n", body: ByteChunks(count: Int64(length)), declaring: length)
            let object = try #require(try await store.open(name, on: loop).get())
            #expect(String(buffer: object.metadata) == "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n")
            #expect(object.bodyLength == length)
            let whole = try await read(object, offset: 0, length: length)
            #expect(whole.readableBytes == length)
            #expect(ByteChunks.matches(whole, from: 0))
            let middle = try await read(object, offset: 1_000_000, length: 5000)
            #expect(middle.readableBytes == 5000)
            #expect(ByteChunks.matches(middle, from: 1_000_000))
            // One object per name, named by the hex digest, as sidekick does.
            #expect(try await client.listAllObjects(bucket: "cache").map(\.key) == [name.hex])
            #expect(store.usage.objects == 1)
            #expect(store.usage.bytes == length)
        }
    }

    /// With no length known, a multipart upload completes only at commit: before it, nothing is visible.
    @Test func unknownLengthFillIsInvisibleUntilCommitted() async throws {
        try await withStore { _, _, store in
            let loop = Self.group.next()
            let name = Self.name("GET http://example.com/unknown")
            let length = (11 << 20) + 7
            let writer = try await store.beginFill(name, metadata: ByteBuffer(string: "head"), bodyLength: nil, on: loop).get()
            var written = 0
            for try await part in ByteChunks(count: Int64(length), chunk: 256 << 10) {
                try await writer.write(part).get()
                written += part.readableBytes
                if written == 9 << 20 { #expect(try await store.open(name, on: loop).get() == nil) }
            }
            #expect(try await store.open(name, on: loop).get() == nil)
            try await writer.commit().get()
            let object = try #require(try await store.open(name, on: loop).get())
            #expect(object.bodyLength == length)
            let tail = try await read(object, offset: length - 4096, length: 4096)
            #expect(ByteChunks.matches(tail, from: Int64(length - 4096)))
        }
    }

    @Test func abortedAndShortFillsLeaveNothing() async throws {
        try await withStore { _, client, store in
            let loop = Self.group.next()
            let known = Self.name("known")
            let writer = try await store.beginFill(known, metadata: ByteBuffer(string: "h"), bodyLength: 1 << 20, on: loop).get()
            try await writer.write(ByteBuffer(repeating: 1, count: 300_000)).get()
            writer.abort()

            let short = Self.name("short")
            let shortWriter = try await store.beginFill(short, metadata: ByteBuffer(string: "h"), bodyLength: 1 << 20, on: loop).get()
            try await shortWriter.write(ByteBuffer(repeating: 2, count: 1000)).get()
            await #expect(throws: CacheStoreError.lengthMismatch(expected: 1 << 20, actual: 1000)) { try await shortWriter.commit().get() }

            let long = Self.name("long")
            let longWriter = try await store.beginFill(long, metadata: ByteBuffer(string: "h"), bodyLength: 10, on: loop).get()
            await #expect(throws: CacheStoreError.self) { try await longWriter.write(ByteBuffer(repeating: 3, count: 11)).get() }

            let multipart = Self.name("multipart")
            let multipartWriter = try await store.beginFill(multipart, metadata: ByteBuffer(string: "h"), bodyLength: nil, on: loop).get()
            for try await part in ByteChunks(count: 12 << 20, chunk: 1 << 20) { try await multipartWriter.write(part).get() }
            multipartWriter.abort()

            try await Task.sleep(for: .milliseconds(500))
            for name in [known, short, long, multipart] {
                #expect(try await store.open(name, on: loop).get() == nil, "\(name)")
            }
            #expect(try await client.listAllObjects(bucket: "cache").isEmpty)
        }
    }

    /// Metadata too large for `x-amz-meta-*` goes as a block at the start of the object.
    @Test func largeMetadataGoesInAHeadBlock() async throws {
        try await withStore { _, client, store in
            let loop = Self.group.next()
            let name = Self.name("large head")
            let metadata = String(repeating: "x-long-header: \(String(repeating: "v", count: 100))\r\n", count: 40)
            try await fill(store, name, metadata: metadata, body: ByteChunks(count: 100_000), declaring: 100_000)
            let head = try #require(try await client.headObject(bucket: "cache", key: name.hex))
            #expect(head.contentLength == Int64(100_000 + metadata.utf8.count))
            #expect(head.metadata["outrider-head-length"] == String(metadata.utf8.count))
            let object = try #require(try await store.open(name, on: loop).get())
            #expect(String(buffer: object.metadata) == metadata)
            #expect(object.bodyLength == 100_000)
            #expect(ByteChunks.matches(try await read(object, offset: 0, length: 100_000), from: 0))
            #expect(ByteChunks.matches(try await read(object, offset: 99_000, length: 1000), from: 99_000))

            // A new head cannot be written into a block without rewriting the body: the object goes.
            try await store.replaceMetadata(name, metadata: ByteBuffer(string: "new"), on: loop).get()
            #expect(try await store.open(name, on: loop).get() == nil)
        }
    }

    @Test func replaceMetadataKeepsTheBody() async throws {
        try await withStore { _, _, store in
            let loop = Self.group.next()
            let name = Self.name("revalidated")
            try await fill(store, name, metadata: "old head", body: ByteChunks(count: 5000), declaring: 5000)
            try await store.replaceMetadata(name, metadata: ByteBuffer(string: "new head"), on: loop).get()
            let object = try #require(try await store.open(name, on: loop).get())
            #expect(String(buffer: object.metadata) == "new head")
            #expect(ByteChunks.matches(try await read(object, offset: 0, length: 5000), from: 0))
            // No object: nothing to do, and no error.
            try await store.replaceMetadata(Self.name("absent"), metadata: ByteBuffer(string: "x"), on: loop).get()
        }
    }

    @Test func removeRemoveAllAndForeignObjects() async throws {
        try await withStore { _, client, store in
            let loop = Self.group.next()
            for index in 0..<5 {
                try await fill(store, Self.name("entry \(index)"), metadata: "h\(index)", body: ByteChunks(count: 100), declaring: 100)
            }
            try await client.putObject(bucket: "cache", key: "README", bytes: ByteBuffer(string: "not a cache object"))
            // An object at a cache name that is not one of ours (no format field) is a miss, and removed.
            let foreign = Self.name("foreign")
            try await client.putObject(bucket: "cache", key: foreign.hex, bytes: ByteBuffer(string: "junk"))
            #expect(try await store.open(foreign, on: loop).get() == nil)
            #expect(try await client.headObject(bucket: "cache", key: foreign.hex) == nil)

            try await store.remove(Self.name("entry 0"), on: loop).get()
            #expect(try await store.open(Self.name("entry 0"), on: loop).get() == nil)
            try await store.remove(Self.name("never stored"), on: loop).get()
            #expect(try await store.removeAll(on: loop).get() == 4)
            #expect(try await client.listAllObjects(bucket: "cache").map(\.key) == ["README"])
        }
    }

    /// A truncated stored object (its recorded body length disagrees with its size) is a miss and removed.
    @Test func inconsistentObjectsAreMissesAndRemoved() async throws {
        try await withStore { _, client, store in
            let name = Self.name("truncated")
            try await client.putObject(
                bucket: "cache", key: name.hex, bytes: ByteBuffer(string: "short"),
                metadata: ["outrider-format": "1", "outrider-head": "aGVhZA==", "outrider-body-length": "1000"])
            #expect(try await store.open(name, on: Self.group.next()).get() == nil)
            #expect(try await client.headObject(bucket: "cache", key: name.hex) == nil)
        }
    }

    @Test func healthIsUpWithGoodCredentials() async throws {
        try await withStore { _, _, store in
            let health = try await store.checkHealth(on: Self.group.next()).get()
            #expect(health == CacheStoreHealth(isUp: true))
            #expect(store.errors == 0)
        }
    }

    /// Bad credentials: the health check is down with S3's own code, and store requests fail (counted).
    @Test func badCredentialsAreAClearError() async throws {
        try await withStore(secret: "not-the-secret") { _, _, store in
            let loop = Self.group.next()
            let health = try await store.checkHealth(on: loop).get()
            #expect(!health.isUp)
            #expect(health.detail.contains("403 SignatureDoesNotMatch"), "\(health.detail)")
            #expect(health.detail.contains("check access_key and secret_key"))
            await #expect(throws: S3Error.self) { _ = try await store.open(Self.name("x"), on: loop).get() }
            #expect(store.errors == 2)
            #expect(store.lastError?.contains("403") == true)
        }
    }

    /// moto has no MinIO health path: a configured one that answers 404 puts the store down, saying so.
    @Test func aHealthPathThatFailsIsDown() async throws {
        try await withStore(healthPath: "/minio/health/ready") { _, _, store in
            let health = try await store.checkHealth(on: Self.group.next()).get()
            #expect(!health.isUp)
            #expect(health.detail.hasPrefix("health check GET /minio/health/ready answered 4"), "\(health.detail)")
        }
    }

    @Test func settingsAreValidated() {
        let logger = Logger(label: "test")
        for (endpoint, bucket, problem) in [
            ("ftp://x", "b", "not an http"), ("http://h:99999", "b", "invalid port"), ("http://h/path", "b", "has a path"),
            ("http://h:9000", "", "not a bucket name"),
        ] {
            do throws(S3Error) {
                _ = try S3Store(
                    settings: S3StoreSettings(endpoint: endpoint, bucket: bucket, accessKey: "a", secretKey: "s"), eventLoopGroup: Self.group,
                    logger: logger)
                Issue.record("accepted \(endpoint) \(bucket)")
            } catch {
                #expect(error.description.contains(problem), "\(error)")
            }
        }
        do throws(S3Error) {
            _ = try S3Store(
                settings: S3StoreSettings(endpoint: "https://h", bucket: "b", accessKey: "a", secretKey: "s", caFile: "/nonexistent/ca.pem"),
                eventLoopGroup: Self.group, logger: logger)
            Issue.record("accepted a missing CA file")
        } catch {
            #expect(error.description.contains("/nonexistent/ca.pem"))
        }
    }
}
