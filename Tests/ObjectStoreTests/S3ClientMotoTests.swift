import TestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
@testable import ObjectStore
import TestSupport
import Testing

/// The S3 client against a real moto server with signature verification on (`MotoServer`).
@Suite struct S3ClientMotoTests {
    static let group = MultiThreadedEventLoopGroup.singleton

    func withMoto(_ body: (MotoServer, S3Client) async throws -> Void) async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let client = try moto.client(Self.group)
        do {
            try await body(moto, client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// DeleteObjects removes several keys in one request, keys XML-escaped; a missing key counts as deleted.
    @Test func deleteObjectsRemovesManyKeysAtOnce() async throws {
        try await withMoto { _, client in
            try await client.createBucket("many")
            let keys = ["a", "dir/b c", "x&y<z>\"q\"", "~tilde"]
            for key in keys + ["kept"] {
                try await client.putObject(bucket: "many", key: key, bytes: ByteBuffer(string: key))
            }
            try await client.deleteObjects(bucket: "many", keys: keys + ["never-there"])
            #expect(try await client.listAllObjects(bucket: "many").map(\.key) == ["kept"])
            try await client.deleteObjects(bucket: "many", keys: [])
            #expect(try await client.listAllObjects(bucket: "many").map(\.key) == ["kept"])
        }
    }

    @Test func putGetHeadRangeDeleteList() async throws {
        try await withMoto { _, client in
            try await client.createBucket("objects")
            try await client.createBucket("objects")  // already ours: fine
            let etag = try await client.putObject(
                bucket: "objects", key: "dir/hello.txt", bytes: ByteBuffer(string: "hello, world"), contentType: "text/plain",
                metadata: ["status": "200", "x-header": "a b"])
            #expect(etag != nil)
            let head = try #require(try await client.headObject(bucket: "objects", key: "dir/hello.txt"))
            #expect(head.contentLength == 12)
            #expect(head.etag == etag)
            #expect(head.contentType == "text/plain")
            #expect(head.metadata == ["status": "200", "x-header": "a b"])

            let object = try #require(try await client.getObject(bucket: "objects", key: "dir/hello.txt"))
            #expect(object.status == 200)
            #expect(String(buffer: try await object.collect(upTo: 1024)) == "hello, world")
            #expect(object.head.metadata["status"] == "200")

            let range = try #require(try await client.getObject(bucket: "objects", key: "dir/hello.txt", range: .bounded(first: 7, last: 11)))
            #expect(range.status == 206)
            #expect(range.partLength == 5)
            #expect(range.head.contentLength == 12)
            #expect(range.contentRange == "bytes 7-11/12")
            #expect(String(buffer: try await range.collect(upTo: 1024)) == "world")
            let suffix = try #require(try await client.getObject(bucket: "objects", key: "dir/hello.txt", range: .suffix(5)))
            #expect(String(buffer: try await suffix.collect(upTo: 1024)) == "world")

            await #expect(throws: S3Error.self) {
                _ = try await client.getObject(bucket: "objects", key: "dir/hello.txt", range: .from(100))
            }
            do throws(S3Error) {
                _ = try await client.getObject(bucket: "objects", key: "dir/hello.txt", range: .from(100))
            } catch {
                #expect(error.status == 416)
                #expect(error.code == "InvalidRange")
            }

            for index in 0..<7 {
                try await client.putObject(bucket: "objects", key: "list/\(index)", bytes: ByteBuffer(string: "\(index)"))
            }
            let page = try await client.listObjects(bucket: "objects", prefix: "list/", maxKeys: 3)
            #expect(page.objects.map(\.key) == ["list/0", "list/1", "list/2"])
            #expect(page.isTruncated)
            let next = try await client.listObjects(bucket: "objects", prefix: "list/", continuationToken: page.nextContinuationToken, maxKeys: 3)
            #expect(next.objects.map(\.key) == ["list/3", "list/4", "list/5"])
            #expect(try await client.listAllObjects(bucket: "objects", prefix: "list/").count == 7)
            let folders = try await client.listObjects(bucket: "objects", delimiter: "/")
            #expect(Set(folders.commonPrefixes) == ["dir/", "list/"])

            try await client.deleteObject(bucket: "objects", key: "dir/hello.txt")
            #expect(try await client.headObject(bucket: "objects", key: "dir/hello.txt") == nil)
            #expect(try await client.getObject(bucket: "objects", key: "dir/hello.txt") == nil)
            #expect(try await client.bucketExists("objects"))
            #expect(try await client.bucketExists("no-such-bucket") == false)
        }
    }

    @Test func oddKeysRoundTrip() async throws {
        try await withMoto { _, client in
            try await client.createBucket("odd")
            let keys = BotocoreDifferentialTests.oddKeys.filter { !$0.hasPrefix("/") && !$0.hasSuffix("/") && !$0.contains("//") && !$0.contains("./") }
            for key in keys {
                try await client.putObject(bucket: "odd", key: key, bytes: ByteBuffer(string: "body of \(key)"))
                let object = try #require(try await client.getObject(bucket: "odd", key: key), "\(key)")
                #expect(String(buffer: try await object.collect(upTo: 4096)) == "body of \(key)", "\(key)")
                #expect(try await client.headObject(bucket: "odd", key: key)?.contentLength == Int64("body of \(key)".utf8.count), "\(key)")
            }
            let listed = try await client.listAllObjects(bucket: "odd")
            #expect(Set(listed.map(\.key)) == Set(keys))
            let prefixed = try await client.listObjects(bucket: "odd", prefix: "dir/sub/", delimiter: "/")
            #expect(prefixed.objects.map(\.key) == ["dir/sub/file"])
            for key in keys { try await client.deleteObject(bucket: "odd", key: key) }
            #expect(try await client.listAllObjects(bucket: "odd").isEmpty)
        }
    }

    @Test func streamingPutAndGetOfALargeObject() async throws {
        try await withMoto { _, client in
            try await client.createBucket("large")
            let length: Int64 = 24 << 20
            try await client.putObject(bucket: "large", key: "big", length: length, body: ByteChunks(count: length))
            let object = try #require(try await client.getObject(bucket: "large", key: "big"))
            #expect(object.head.contentLength == length)
            var offset: Int64 = 0
            var intact = true
            for try await buffer in object.body {
                intact = intact && ByteChunks.matches(buffer, from: offset)
                offset += Int64(buffer.readableBytes)
            }
            #expect(offset == length)
            #expect(intact)
        }
    }

    /// A body that fails half-way, or ends short of its Content-Length, leaves no object.
    @Test func aFailedPutLeavesNothing() async throws {
        try await withMoto { _, client in
            try await client.createBucket("partial")
            await #expect(throws: S3Error.self) {
                try await client.putObject(bucket: "partial", key: "broken", length: 1 << 20, body: ByteChunks(count: 1 << 20, failingAfter: 256 << 10))
            }
            await #expect(throws: S3Error.self) {
                try await client.putObject(bucket: "partial", key: "short", length: 1 << 20, body: ByteChunks(count: 512 << 10))
            }
            #expect(try await client.headObject(bucket: "partial", key: "broken") == nil)
            #expect(try await client.headObject(bucket: "partial", key: "short") == nil)
        }
    }

    @Test func multipartUploadOfUnknownLength() async throws {
        try await withMoto { _, client in
            try await client.createBucket("multi")
            let length: Int64 = (12 << 20) + 12345
            try await client.uploadObject(bucket: "multi", key: "parts of/ünknown", body: ByteChunks(count: length), partSize: 5 << 20, metadata: ["kind": "multi"])
            let head = try #require(try await client.headObject(bucket: "multi", key: "parts of/ünknown"))
            #expect(head.contentLength == length)
            #expect(head.metadata["kind"] == "multi")
            #expect(head.etag?.hasSuffix("-3\"") == true)
            let tail = try #require(try await client.getObject(bucket: "multi", key: "parts of/ünknown", range: .suffix(1000)))
            #expect(ByteChunks.matches(try await tail.collect(upTo: 4096), from: length - 1000))

            // Smaller than a part: a single PutObject.
            try await client.uploadObject(bucket: "multi", key: "small", body: ByteChunks(count: 1000))
            #expect(try await client.headObject(bucket: "multi", key: "small")?.contentLength == 1000)

            // A body failing after two parts: the upload is aborted, nothing is visible and no upload remains.
            await #expect(throws: S3Error.self) {
                try await client.uploadObject(bucket: "multi", key: "aborted", body: ByteChunks(count: 20 << 20, failingAfter: 11 << 20), partSize: 5 << 20)
            }
            #expect(try await client.headObject(bucket: "multi", key: "aborted") == nil)
        }
    }

    @Test func badCredentialsAreClearErrors() async throws {
        try await withMoto { moto, client in
            try await client.createBucket("guarded")
            let wrongSecret = try moto.client(Self.group, credentials: SigV4Credentials(accessKeyID: moto.credentials.accessKeyID, secretAccessKey: "wrong"))
            let unknownKey = try moto.client(Self.group, credentials: SigV4Credentials(accessKeyID: "AKIDUNKNOWN00000", secretAccessKey: "x"))
            defer {
                Task { try? await wrongSecret.shutdown() }
                Task { try? await unknownKey.shutdown() }
            }
            do throws(S3Error) {
                _ = try await wrongSecret.listObjects(bucket: "guarded")
                Issue.record("a wrong secret was accepted")
            } catch {
                #expect(error.status == 403)
                #expect(error.code == "SignatureDoesNotMatch")
                #expect(error.description.contains("403 SignatureDoesNotMatch"))
            }
            do throws(S3Error) {
                try await unknownKey.putObject(bucket: "guarded", key: "k", bytes: ByteBuffer(string: "x"))
                Issue.record("an unknown key was accepted")
            } catch {
                #expect(error.status == 403)
                #expect(error.code == "InvalidAccessKeyId")
            }
            do throws(S3Error) {
                _ = try await wrongSecret.headObject(bucket: "guarded", key: "k")
                Issue.record("a HEAD with a wrong secret was accepted")
            } catch {
                #expect(error.status == 403)
            }
        }
    }

    /// https verified with a given CA file; without it (system roots) the connection is refused, saying why.
    @Test func httpsWithAGivenCA() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tls = try MotoServer.TLSFiles.make(in: directory)
        let moto = try await MotoServer.start(tls: tls)
        defer { moto.stop() }
        #expect(moto.endpoint.isTLS)
        let trusted = try moto.client(Self.group, caFile: tls.ca)
        let untrusted = try moto.client(Self.group)
        do {
            try await trusted.createBucket("secure")
            try await trusted.putObject(bucket: "secure", key: "k", bytes: ByteBuffer(string: "over tls"))
            let object = try #require(try await trusted.getObject(bucket: "secure", key: "k"))
            #expect(String(buffer: try await object.collect(upTo: 100)) == "over tls")
            do throws(S3Error) {
                _ = try await untrusted.headObject(bucket: "secure", key: "k")
                Issue.record("a certificate from an unknown CA was accepted")
            } catch {
                guard case .transport(_, _, let reason) = error else {
                    Issue.record("expected a transport error, got \(error)")
                    throw error
                }
                #expect(reason.lowercased().contains("certificate") || reason.contains("handshake") || reason.contains("SSL"), "\(reason)")
            }
        } catch {
            try? await trusted.shutdown()
            try? await untrusted.shutdown()
            throw error
        }
        try await trusted.shutdown()
        try await untrusted.shutdown()
    }

    @Test func aDeadServerIsATransportError() async throws {
        let moto = try await MotoServer.start()
        let client = try moto.client(Self.group)
        moto.stop()
        do throws(S3Error) {
            _ = try await client.headObject(bucket: "gone", key: "k")
            Issue.record("no error from a stopped server")
        } catch {
            if case .transport = error {} else { Issue.record("expected a transport error, got \(error)") }
        }
        try await client.shutdown()
    }
}
