import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
@testable import ObjectStore
import Proxy
import Testing

/// The S3 client and the cache's S3 store against SeaweedFS, which checks more than moto: the request date's skew
/// and that every `x-amz-*` field is signed. One server for the suite's tests, run one after another.
@Suite(.serialized) struct SeaweedFSTests {
    @Test func clientAndStoreAgainstSeaweedFS() async throws {
        let server = try await SeaweedServer.start()
        defer { server.stop() }
        let client = try server.client()
        let skewed = try server.client(now: { SigV4Timestamp(secondsSince1970: S3Client.systemTime().secondsSince1970 - 3600) })
        let wrong = try server.client(credentials: SigV4Credentials(accessKeyID: "AKIDCACHETEST", secretAccessKey: "wrong"))
        let store = try S3Store(
            settings: S3StoreSettings(
                endpoint: server.endpoint.description, bucket: "cache", accessKey: SeaweedServer.credentials.accessKeyID,
                secretKey: SeaweedServer.credentials.secretAccessKey, requestTimeout: .seconds(30)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test.seaweed"))
        do {
            try await run(server, client, skewed, wrong, store)
        } catch {
            print(server.output.all.suffix(40).joined(separator: "\n"))
            try? await store.shutdown().get()
            for each in [client, skewed, wrong] { try? await each.shutdown() }
            throw error
        }
        try await store.shutdown().get()
        for each in [client, skewed, wrong] { try await each.shutdown() }
    }

    func run(_ server: SeaweedServer, _ client: S3Client, _ skewed: S3Client, _ wrong: S3Client, _ store: S3Store) async throws {
        try await client.createBucket("cache")
        try await client.createBucket("objects")

        // Odd keys, metadata, ranges and listing need no launcher here.
        for key in BotocoreDifferentialTests.oddKeys where !key.hasPrefix("/") && !key.hasSuffix("/") && !key.contains("//") && !key.contains("./") {
            try await client.putObject(bucket: "objects", key: key, bytes: ByteBuffer(string: "body of \(key)"), metadata: ["k": "v w"])
            let object = try #require(try await client.getObject(bucket: "objects", key: key), "\(key)")
            #expect(String(buffer: try await object.collect(upTo: 4096)) == "body of \(key)", "\(key)")
            #expect(object.head.metadata["k"] == "v w", "\(key)")
        }
        let range = try #require(try await client.getObject(bucket: "objects", key: "with space", range: .bounded(first: 0, last: 3)))
        #expect(String(buffer: try await range.collect(upTo: 100)) == "body")
        let listed = try await client.listObjects(bucket: "objects", prefix: "dir/", delimiter: "/")
        #expect(listed.commonPrefixes == ["dir/sub/"])

        // A streamed PUT of a known length, unsigned payload.
        try await client.putObject(bucket: "objects", key: "streamed", length: 300_000, body: ByteChunks(count: 300_000))
        #expect(try await client.headObject(bucket: "objects", key: "streamed")?.contentLength == 300_000)

        // Multipart of unknown length.
        try await client.uploadObject(bucket: "objects", key: "multi part", body: ByteChunks(count: 11 << 20), partSize: 5 << 20)
        #expect(try await client.headObject(bucket: "objects", key: "multi part")?.contentLength == 11 << 20)

        // What moto does not check: an hour of clock skew, a wrong secret.
        do throws(S3Error) {
            _ = try await skewed.listObjects(bucket: "objects")
            Issue.record("SeaweedFS accepted a request dated an hour ago")
        } catch {
            #expect(error.status == 403)
            #expect(error.code == "RequestTimeTooSkewed", "\(error)")
        }
        do throws(S3Error) {
            _ = try await wrong.listObjects(bucket: "objects")
            Issue.record("SeaweedFS accepted a wrong secret")
        } catch {
            #expect(error.code == "SignatureDoesNotMatch", "\(error)")
        }

        // A presigned GET works against it.
        var presigned = SignableRequest(method: "GET", path: "/objects/with space", headers: [.init("Host", server.endpoint.hostField)])
        client.signer.presign(&presigned, payloadHash: SigV4Signer.unsignedPayload, at: S3Client.systemTime(), expiresInSeconds: 300)
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let response = try await http.execute(HTTPClientRequest(url: server.endpoint.base + presigned.target), timeout: .seconds(10))
        let presignedBody = String(buffer: try await response.body.collect(upTo: 4096))
        try await http.shutdown()
        #expect(response.status == .ok)
        #expect(presignedBody == "body of with space")

        // The cache store: fill, look up, read, replace the head, abort, health.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let name = CacheObjectName(hex: SigV4Signer.payloadHash(Array("GET http://seaweed/x".utf8)))!
        let writer = try await store.beginFill(name, metadata: ByteBuffer(string: "head"), bodyLength: 200_000, on: loop).get()
        for try await part in ByteChunks(count: 200_000, chunk: 50_000) { try await writer.write(part).get() }
        try await writer.commit().get()
        let object = try #require(try await store.open(name, on: loop).get())
        #expect(String(buffer: object.metadata) == "head")
        let reader = object.readBody(100, 1000)
        var read = ByteBuffer()
        while var part = try await reader.next(on: loop).get() { read.writeBuffer(&part) }
        #expect(read.readableBytes == 1000)
        #expect(ByteChunks.matches(read, from: 100))
        try await store.replaceMetadata(name, metadata: ByteBuffer(string: "new head"), on: loop).get()
        #expect(try await store.open(name, on: loop).get().map { String(buffer: $0.metadata) } == "new head")

        let aborted = CacheObjectName(hex: SigV4Signer.payloadHash(Array("aborted".utf8)))!
        let abortedWriter = try await store.beginFill(aborted, metadata: ByteBuffer(string: "h"), bodyLength: nil, on: loop).get()
        for try await part in ByteChunks(count: 6 << 20, chunk: 1 << 20) { try await abortedWriter.write(part).get() }
        abortedWriter.abort()
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await store.open(aborted, on: loop).get() == nil)
        #expect(try await store.checkHealth(on: loop).get().isUp)
    }
}
