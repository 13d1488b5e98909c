import Crypto
import Foundation

/// DeleteObjects (S3 API Reference: `POST /bucket?delete`): up to 1000 keys removed in one request, for purging a
/// cache URL with its variants, or the whole cache, without a request per object.
extension S3Client {
    /// The most keys one DeleteObjects request may name.
    public static let maximumKeysPerDelete = 1000

    /// Removes `keys` (a missing key counts as removed, as for DeleteObject), in batches of
    /// ``maximumKeysPerDelete``. Quiet mode: S3 answers only the keys it failed to delete, and any such key
    /// fails the call, naming the first key and S3's code for it.
    public func deleteObjects(bucket: String, keys: [String]) async throws(S3Error) {
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(keys.count, start + Self.maximumKeysPerDelete)]
            try await deleteBatch(bucket: bucket, keys: batch)
            start += batch.count
        }
    }

    private func deleteBatch(bucket: String, keys: ArraySlice<String>) async throws(S3Error) {
        var call = Call(operation: "DeleteObjects", method: .POST, bucket: bucket, key: nil)
        call.query = [.init("delete", "")]
        let xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            + keys.map { "<Object><Key>\(Self.escaped($0))</Key></Object>" }.joined() + "</Delete>"
        let body = Array(xml.utf8)
        Self.signedBody(body, into: &call)
        call.headers.append(.init("Content-Type", "application/xml"))
        // S3 requires an integrity check of this body (Content-MD5, or one of the newer checksums).
        call.headers.append(.init("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()))
        let response = try await send(call)
        let document = try await Self.successDocument(response, call)
        guard document.name == "DeleteResult" else {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "expected DeleteResult, got \(document.name)")
        }
        let failures = document.children("Error")
        if let first = failures.first {
            let key = first.text(of: "Key") ?? ""
            throw .service(
                operation: call.operation, resource: "\(bucket)/\(key)", status: 200, code: first.text(of: "Code") ?? "InternalError",
                message: "\(first.text(of: "Message") ?? "") (\(failures.count) of \(keys.count) keys not deleted)", requestID: nil)
        }
    }
}
