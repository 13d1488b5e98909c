import NIOConcurrencyHelpers
import NIOCore

/// An object being uploaded from parts pushed one at a time (a response streaming through a cache into S3),
/// visible only once `finish()` succeeds: with a known length one PutObject with `Content-Length` (a body
/// that stops short never completes the request), otherwise a multipart upload completed after the last part.
/// `abort()` — or any failure — leaves nothing.
public final class S3Upload: Sendable {
    private let handoff: PartHandoff
    private let task: Task<String?, any Error>
    private let written: NIOLockedValueBox<Int64>
    public let length: Int64?
    let operation: String
    let resource: String
    private let eventLoop: any EventLoop

    /// Starts the upload; `prefix` goes first in the object (a header block), counted in `length`.
    init(
        client: S3Client, bucket: String, key: String, length: Int64?, prefix: ByteBuffer?, contentType: String?,
        metadata: [String: String], partSize: Int
    ) {
        let handoff = PartHandoff(first: prefix)
        self.handoff = handoff
        self.length = length
        self.operation = length == nil ? "CreateMultipartUpload" : "PutObject"
        self.resource = "\(bucket)/\(key)"
        self.eventLoop = client.http.eventLoopGroup.next()
        self.written = NIOLockedValueBox(Int64(prefix?.readableBytes ?? 0))
        task = Task {
            do {
                let etag: String?
                if let length {
                    etag = try await client.putObject(bucket: bucket, key: key, length: length, body: handoff, contentType: contentType, metadata: metadata)
                } else {
                    etag = try await client.uploadObject(bucket: bucket, key: key, body: handoff, partSize: partSize, contentType: contentType, metadata: metadata)
                }
                handoff.fail(S3UploadError.finished)
                return etag
            } catch {
                handoff.fail(error)
                throw error
            }
        }
    }

    /// Appends `part`; the future (on `eventLoop`) completes once the upload has taken it. Writing past a known
    /// length fails the upload.
    public func write(_ part: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let total = written.withLockedValue { total in
            total += Int64(part.readableBytes)
            return total
        }
        if let length, total > length {
            let error = S3Error.bodyLength(operation: operation, resource: resource, expected: length, actual: total)
            handoff.fail(error)
            promise.fail(error)
        } else {
            handoff.write(part, taken: promise)
        }
        return promise.futureResult
    }

    public func write(_ part: ByteBuffer) async throws {
        try await write(part, on: eventLoop).get()
    }

    /// Ends the body and waits for S3 to confirm the object; returns its ETag. Fails (leaving nothing) when a
    /// known length was not reached.
    @discardableResult
    public func finish() async throws(S3Error) -> String? {
        let total = written.withLockedValue { $0 }
        if let length, total != length {
            let error = S3Error.bodyLength(operation: operation, resource: resource, expected: length, actual: total)
            handoff.fail(error)
            _ = try? await task.value
            throw error
        }
        handoff.finish()
        do {
            return try await task.value
        } catch {
            throw S3Client.translate(error, operation, resource)
        }
    }

    /// Drops the upload: the request fails and a multipart upload is aborted, so nothing becomes visible.
    public func abort() {
        handoff.fail(S3UploadError.aborted)
    }

    /// Waits until the upload has stopped (after `abort()`), for tests and orderly shutdown.
    public func settled() async {
        _ = try? await task.value
    }
}

extension S3Client {
    /// Begins an upload fed by `S3Upload.write`: with `length`, one PutObject of exactly that many bytes
    /// (`prefix` included); without, a multipart upload (or one PutObject when the body is under one part).
    public func beginUpload(
        bucket: String, key: String, length: Int64?, prefix: ByteBuffer? = nil, contentType: String? = nil,
        metadata: [String: String] = [:], partSize: Int = 8 << 20
    ) -> S3Upload {
        S3Upload(client: self, bucket: bucket, key: key, length: length, prefix: prefix, contentType: contentType, metadata: metadata, partSize: partSize)
    }
}
