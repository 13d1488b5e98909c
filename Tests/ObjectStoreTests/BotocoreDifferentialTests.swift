import Foundation
import NIOCore
import NIOPosix
@testable import ObjectStore
import Testing
import TestSupport

/// The S3 client's signed requests against botocore's (`Support/botocore_sigv4.py`, boto3's signer), for keys
/// and query values with the characters encoders disagree on: the encoded path must be the same, and the
/// `Authorization` header and the presigned `X-Amz-Signature` identical.
@Suite struct BotocoreDifferentialTests {
    struct Case: Encodable {
        let method: String
        let endpoint: String
        let bucket: String
        let key: String
        let query: [[String]]
        let headers: [[String]]
        let body: String
        let unsigned_payload: Bool
        let timestamp: String
        let access_key: String
        let secret_key: String
        let region: String
        let expires: Int
    }

    struct Answer: Decodable {
        let target: String
        let authorization: String
        let content_sha256: String
        let presigned_target: String
    }

    static let oddKeys = [
        "plain.txt", "with space", "a+b", "100%", "50%25", "k=v", "a&b", "~tilde", "dir/sub/file", "/leading", "trailing/",
        "double//slash", "dots/./../x", "ünïcødé/日本語", "emoji 😀", "semi;colon,comma", "quote'\"", "star*(paren)!",
        "hash#frag?query", "at@colon:dollar$", "brackets[]{}", "back\\slash", "caret^pipe|`tick`", "mixed +%=&~/ 💾",
    ]

    static func randomKey(_ generator: inout SeededGenerator) -> String {
        let alphabet = Array("aZ09-._~ +%=&/?#!*'()$,;:@[]é日😀")
        return String((0..<Int.random(in: 1...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
    }

    @Test func signaturesMatchBotocore() async throws {
        let time = SigV4Timestamp(secondsSince1970: 1_764_590_400)
        let credentials = SigV4Credentials(accessKeyID: "AKIDODDKEYS", secretAccessKey: "s3cr3t/+=key")
        let endpoint = try S3Endpoint("http://127.0.0.1:9000")
        let client = try S3Client(
            configuration: S3Configuration(endpoint: endpoint, region: "eu-west-3", credentials: credentials),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        do {
            try compare(client, time: time, credentials: credentials)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func compare(_ client: S3Client, time: SigV4Timestamp, credentials: SigV4Credentials) throws {

        var generator = SeededGenerator(seed: 37)
        var keys = Self.oddKeys
        for _ in 0..<40 { keys.append(Self.randomKey(&generator)) }
        var calls: [S3Client.Call] = []
        for (index, key) in keys.enumerated() {
            var get = S3Client.Call(operation: "GetObject", method: .GET, bucket: "odd-bucket", key: key)
            get.headers = [.init("Range", "bytes=0-99")]
            calls.append(get)
            var put = S3Client.Call(operation: "PutObject", method: .PUT, bucket: "odd-bucket", key: key)
            put.headers = [.init("Content-Type", "text/plain"), .init("x-amz-meta-origin", "a  b\t c")]
            if index.isMultiple(of: 2) { put.payloadHash = SigV4Signer.payloadHash(Array("body \(key)".utf8)) }
            calls.append(put)
            var upload = S3Client.Call(operation: "UploadPart", method: .PUT, bucket: "odd-bucket", key: key)
            upload.query = [.init("partNumber", "3"), .init("uploadId", "up/+=id \(index)")]
            calls.append(upload)
            var list = S3Client.Call(operation: "ListObjectsV2", method: .GET, bucket: "odd-bucket", key: nil, payloadHash: SigV4Signer.emptyPayloadHash)
            list.query = [.init("list-type", "2"), .init("prefix", key), .init("delimiter", "/"), .init("continuation-token", "t+o/k=e n"), .init("max-keys", "7")]
            calls.append(list)
        }
        let cases = calls.map { call in
            Case(
                method: call.method.rawValue, endpoint: "http://127.0.0.1:9000", bucket: call.bucket, key: call.key ?? "",
                query: call.query.map { [$0.name, $0.value] },
                headers: [["Host", "127.0.0.1:9000"]] + call.headers.map { [$0.name, $0.value] },
                body: call.payloadHash == SigV4Signer.unsignedPayload || call.payloadHash == SigV4Signer.emptyPayloadHash ? "" : "body \(call.key ?? "")",
                unsigned_payload: call.payloadHash == SigV4Signer.unsignedPayload, timestamp: time.amzDate,
                access_key: credentials.accessKeyID, secret_key: credentials.secretAccessKey, region: "eu-west-3", expires: 900)
        }
        let output = try PythonScript.run("botocore_sigv4.py", input: try JSONEncoder().encode(cases))
        let answers = try JSONDecoder().decode([Answer].self, from: output)
        try #require(answers.count == calls.count)
        for (call, answer) in zip(calls, answers) {
            let mine = client.signed(call, at: time)
            let label = "\(call.operation) \(call.key ?? "") \(call.query)"
            #expect(mine.target.prefix { $0 != "?" } == answer.target.prefix { $0 != "?" }, "\(label)")
            #expect(mine.values(of: "Authorization") == [answer.authorization], "\(label)")
            #expect(mine.values(of: "x-amz-content-sha256") == [answer.content_sha256], "\(label)")

            var presigned = SignableRequest(method: call.method.rawValue, path: "/" + call.bucket + (call.key.map { "/" + $0 } ?? ""), query: call.query, headers: [.init("Host", "127.0.0.1:9000")] + call.headers)
            client.signer.presign(&presigned, payloadHash: SigV4Signer.unsignedPayload, at: time, expiresInSeconds: 900)
            let query = answer.presigned_target.split(separator: "?", maxSplits: 1).last ?? ""
            let theirs = query.split(separator: "&").map { item -> String in
                let name = item.prefix { character in character != "=" }
                let value = item.dropFirst(name.count + 1)
                return SigV4TestSuiteCase.decoded(name) + "=" + SigV4TestSuiteCase.decoded(value)
            }
            #expect(Set(presigned.query.map { "\($0.name)=\($0.value)" }) == Set(theirs), "\(label)")
        }
    }
}
