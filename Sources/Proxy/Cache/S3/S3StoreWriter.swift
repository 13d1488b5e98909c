import NIOConcurrencyHelpers
import NIOCore
import ObjectStore

/// One fill of the S3 store: parts go to an `S3Upload` as they come; `commit` checks the length and waits for
/// S3's confirmation, `abort` drops the upload.
final class S3StoreWriter: CacheStoreWriter {
    let store: S3Store
    let upload: S3Upload
    let bodyLength: Int?
    let headLength: Int
    private let written = NIOLockedValueBox(0)

    init(store: S3Store, upload: S3Upload, bodyLength: Int?, headLength: Int) {
        self.store = store
        self.upload = upload
        self.bodyLength = bodyLength
        self.headLength = headLength
    }

    func write(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        let total = written.withLockedValue { total in
            total += part.readableBytes
            return total
        }
        let eventLoop = store.group.any()
        if let bodyLength, total > bodyLength {
            upload.abort()
            return eventLoop.makeFailedFuture(CacheStoreError.lengthMismatch(expected: bodyLength, actual: total))
        }
        return upload.write(part, on: eventLoop)
    }

    func commit() -> EventLoopFuture<Void> {
        let total = written.withLockedValue { $0 }
        let eventLoop = store.group.any()
        if let bodyLength, total != bodyLength {
            upload.abort()
            return eventLoop.makeFailedFuture(CacheStoreError.lengthMismatch(expected: bodyLength, actual: total))
        }
        return store.future(on: eventLoop) {
            try await self.upload.finish()
            self.store.committed(total + self.headLength)
        }
    }

    func abort() {
        upload.abort()
    }
}
