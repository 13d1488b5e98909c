import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension S3Client {
    /// HeadObject: the object's head, or nil when there is no such object (404).
    public func headObject(bucket: String, key: String) async throws(S3Error) -> S3ObjectHead? {
        let call = Call(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key)
        let response = try await send(call, accepting: [200, 404])
        if response.status == .notFound { return nil }
        guard let length = response.headers.first(name: "content-length").flatMap(Int64.init),
            let head = S3ObjectHead(headers: response.headers, contentLength: length)
        else {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "no Content-Length")
        }
        return head
    }

    /// GetObject, the body streamed; nil when there is no such object (404). With `range`, a 206 answer gives the
    /// range and the whole length from `Content-Range`; a server that ignores the range answers 200 with all of it.
    /// An unsatisfiable range is `S3Error.service` with status 416 (`InvalidRange`).
    /// With `ifMatch` (an ETag from a HEAD), a replaced object fails with status 412 (`PreconditionFailed`)
    /// instead of answering another object's bytes.
    public func getObject(bucket: String, key: String, range: S3ByteRange? = nil, ifMatch: String? = nil) async throws(S3Error) -> S3Object? {
        var call = Call(operation: "GetObject", method: .GET, bucket: bucket, key: key)
        if let range { call.headers.append(.init("Range", range.headerValue)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        let response = try await send(call, accepting: [200, 206, 404])
        if response.status == .notFound { return nil }
        guard let partLength = response.headers.first(name: "content-length").flatMap(Int64.init), partLength >= 0 else {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "no Content-Length")
        }
        var total = partLength
        let contentRange = response.headers.first(name: "content-range")
        if response.status == .partialContent {
            guard let contentRange, let slash = contentRange.lastIndex(of: "/"),
                let complete = Int64(contentRange[contentRange.index(after: slash)...])
            else {
                throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "206 without a complete length in Content-Range")
            }
            total = complete
        }
        guard let head = S3ObjectHead(headers: response.headers, contentLength: total) else {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: "malformed head")
        }
        return S3Object(head: head, status: Int(response.status.code), contentRange: contentRange, partLength: partLength, body: response.body)
    }

    /// PutObject of `length` bytes pulled from `body` as the connection takes them (never all in memory): one
    /// request with `Content-Length`, so the object exists only once all `length` bytes arrived. A body that ends
    /// early or runs long fails the request and the server stores nothing. Returns the ETag.
    @discardableResult
    public func putObject<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, length: Int64, body: Body, contentType: String? = nil, metadata: [String: String] = [:]
    ) async throws(S3Error) -> String? where Body.Element == ByteBuffer {
        var call = Call(operation: "PutObject", method: .PUT, bucket: bucket, key: key)
        if let contentType { call.headers.append(.init("Content-Type", contentType)) }
        call.headers += try S3ObjectHead.metadataHeaders(metadata)
        call.body = .stream(body, length: .known(length))
        let response = try await send(call)
        return response.headers.first(name: "etag")
    }

    /// PutObject of bytes in memory, its payload hashed and signed.
    ///
    /// A conditional write (S3 API Reference, PutObject, "Conditional writes"): with `ifMatch` (an ETag), only
    /// while the object is still that version; with `ifNoneMatch: "*"`, only when there is no such object yet.
    /// Otherwise S3 answers 412 `PreconditionFailed` (or 409 `ConditionalRequestConflict` while another
    /// conditional write of the key is under way), thrown as `S3Error.service` with that status.
    @discardableResult
    public func putObject(
        bucket: String, key: String, bytes: ByteBuffer, contentType: String? = nil, metadata: [String: String] = [:],
        ifMatch: String? = nil, ifNoneMatch: String? = nil
    ) async throws(S3Error) -> String? {
        var call = Call(operation: "PutObject", method: .PUT, bucket: bucket, key: key)
        if let contentType { call.headers.append(.init("Content-Type", contentType)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        if let ifNoneMatch { call.headers.append(.init("If-None-Match", ifNoneMatch)) }
        call.headers += try S3ObjectHead.metadataHeaders(metadata)
        Self.signedBody(Array(buffer: bytes), into: &call)
        let response = try await send(call)
        return response.headers.first(name: "etag")
    }

    /// CopyObject of an object onto itself with its metadata replaced (S3 API Reference, CopyObject:
    /// `x-amz-metadata-directive: REPLACE`), the only way S3 changes metadata. With `ifMatch`, only while the object
    /// is still that version (412 `PreconditionFailed` otherwise). S3 may answer 200 with an `Error` document.
    public func replaceMetadata(
        bucket: String, key: String, metadata: [String: String], contentType: String? = nil, ifMatch: String? = nil
    ) async throws(S3Error) {
        var call = Call(operation: "CopyObject", method: .PUT, bucket: bucket, key: key, payloadHash: SigV4Signer.emptyPayloadHash)
        call.headers.append(.init("x-amz-copy-source", SigV4Encoding.encode("/\(bucket)/\(key)", keepingSlash: true)))
        call.headers.append(.init("x-amz-metadata-directive", "REPLACE"))
        if let ifMatch { call.headers.append(.init("x-amz-copy-source-if-match", ifMatch)) }
        if let contentType { call.headers.append(.init("Content-Type", contentType)) }
        call.headers += try S3ObjectHead.metadataHeaders(metadata)
        let response = try await send(call)
        _ = try await Self.successDocument(response, call)
    }

    /// DeleteObject. S3 answers 204 whether or not the object existed; some servers answer 404, taken as done.
    public func deleteObject(bucket: String, key: String) async throws(S3Error) {
        let call = Call(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key)
        let response = try await send(call, accepting: [200, 204, 404])
        _ = try? await response.body.collect(upTo: 64 << 10)
    }

    /// CreateBucket; one that this account owns already counts as created. Outside `us-east-1` the region goes in
    /// a `CreateBucketConfiguration` body.
    public func createBucket(_ bucket: String) async throws(S3Error) {
        var call = Call(operation: "CreateBucket", method: .PUT, bucket: bucket, key: nil)
        if configuration.region != "us-east-1" {
            let xml = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>"
            Self.signedBody(Array(xml.utf8), into: &call)
        } else {
            call.payloadHash = SigV4Signer.emptyPayloadHash
        }
        do throws(S3Error) {
            let response = try await send(call)
            _ = try? await response.body.collect(upTo: 64 << 10)
        } catch {
            if error.code == "BucketAlreadyOwnedByYou" { return }
            throw error
        }
    }

    /// HeadBucket: true when the bucket exists and these credentials may use it, false on 404. A 403 is an
    /// `S3Error` without S3's code (HEAD answers carry no body): use `listObjects` to learn why.
    public func bucketExists(_ bucket: String) async throws(S3Error) -> Bool {
        let call = Call(operation: "HeadBucket", method: .HEAD, bucket: bucket, key: nil, payloadHash: SigV4Signer.emptyPayloadHash)
        let response = try await send(call, accepting: [200, 404])
        return response.status == .ok
    }

    /// A signed GET of a path on the endpoint that is not an S3 operation (MinIO's `/minio/health/ready`);
    /// returns the status, reading and dropping at most 64 KiB of body.
    public func probe(path: String) async throws(S3Error) -> Int {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        let parts = trimmed.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first else { throw .invalidRequest(reason: "empty probe path") }
        let call = Call(operation: "GET", method: .GET, bucket: first, key: parts.count > 1 ? parts[1] : nil, payloadHash: SigV4Signer.emptyPayloadHash)
        let response = try await send(call, accepting: Set(100...599))
        _ = try? await response.body.collect(upTo: 64 << 10)
        return Int(response.status.code)
    }
}
