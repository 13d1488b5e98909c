import Foundation
import AsyncHTTPClient
import NIOCore

/// Multipart upload (S3 API Reference: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
/// AbortMultipartUpload), for bodies whose length is not known in advance: the object appears only when
/// CompleteMultipartUpload succeeds, after the last part; any failure or cancellation aborts the upload, which
/// discards the parts.
extension S3Client {
    /// S3's smallest part but the last.
    public static let minimumPartSize = 5 << 20

    /// Uploads `body` of unknown length. Parts of `partSize` bytes (at least 5 MiB) are gathered in memory one at a
    /// time, so memory stays at one part whatever the object's size; a body shorter than one part goes as a single
    /// PutObject. Returns the ETag.
    @discardableResult
    public func uploadObject<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, body: Body, partSize: Int = 8 << 20, contentType: String? = nil,
        metadata: [String: String] = [:]
    ) async throws(S3Error) -> String? where Body.Element == ByteBuffer {
        let partSize = max(partSize, Self.minimumPartSize)
        var iterator = body.makeAsyncIterator()
        var pending = ByteBuffer()
        var finished = false
        func fill() async throws(S3Error) {
            while !finished, pending.readableBytes < partSize {
                do {
                    guard var next = try await iterator.next() else {
                        finished = true
                        return
                    }
                    pending.writeBuffer(&next)
                } catch {
                    throw Self.translate(error, "PutObject", "\(bucket)/\(key)")
                }
            }
        }
        try await fill()
        if finished {
            return try await putObject(bucket: bucket, key: key, bytes: pending, contentType: contentType, metadata: metadata)
        }
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata)
        do throws(S3Error) {
            var parts: [(number: Int, etag: String)] = []
            while pending.readableBytes > 0 {
                let part = pending.readSlice(length: min(partSize, pending.readableBytes)) ?? ByteBuffer()
                let etag = try await uploadPart(bucket: bucket, key: key, uploadID: uploadID, number: parts.count + 1, bytes: part)
                parts.append((parts.count + 1, etag))
                pending.discardReadBytes()
                try await fill()
            }
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        } catch {
            // A task of its own: the caller's may be cancelled, and the abort must still go out.
            let abort = Task { try await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID) }
            _ = try? await abort.value
            throw error
        }
    }

    /// Returns the upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil, metadata: [String: String] = [:]) async throws(S3Error) -> String {
        var call = Call(operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, payloadHash: SigV4Signer.emptyPayloadHash)
        call.query = [.init("uploads", "")]
        if let contentType { call.headers.append(.init("Content-Type", contentType)) }
        call.headers += try S3ObjectHead.metadataHeaders(metadata)
        let response = try await send(call)
        let document = try await Self.document(response, call)
        guard document.name == "InitiateMultipartUploadResult", let id = document.text(of: "UploadId"), !id.isEmpty else {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "no UploadId")
        }
        return id
    }

    /// Returns the part's ETag. The part's bytes are hashed and signed.
    public func uploadPart(bucket: String, key: String, uploadID: String, number: Int, bytes: ByteBuffer) async throws(S3Error) -> String {
        var call = Call(operation: "UploadPart", method: .PUT, bucket: bucket, key: key)
        call.query = [.init("partNumber", String(number)), .init("uploadId", uploadID)]
        Self.signedBody(Array(buffer: bytes), into: &call)
        let response = try await send(call)
        guard let etag = response.headers.first(name: "etag") else {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "no ETag for part \(number)")
        }
        return etag
    }

    /// Makes the object visible. S3 may answer 200 and still fail, with an `Error` document in the body.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [(number: Int, etag: String)]) async throws(S3Error) -> String? {
        var call = Call(operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key)
        call.query = [.init("uploadId", uploadID)]
        let xml = "<CompleteMultipartUpload>" + parts.map {
            "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escaped($0.etag))</ETag></Part>"
        }.joined() + "</CompleteMultipartUpload>"
        Self.signedBody(Array(xml.utf8), into: &call)
        call.headers.append(.init("Content-Type", "application/xml"))
        let response = try await send(call)
        let document = try await Self.successDocument(response, call)
        return document.text(of: "ETag")
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws(S3Error) {
        var call = Call(operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key, payloadHash: SigV4Signer.emptyPayloadHash)
        call.query = [.init("uploadId", uploadID)]
        let response = try await send(call, accepting: [200, 204, 404])
        _ = try? await response.body.collect(upTo: 64 << 10)
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
