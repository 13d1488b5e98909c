#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A ``CacheStore`` in a local directory, nginx `proxy_cache`-like: one file per object under
/// `objects/xx/` (the first two hex digits of its name), written as a temporary file in `tmp/`
/// and renamed into place once complete, so a reader never sees a partial object and two
/// fills of one name each land whole (the last rename wins).
///
/// An object file is a 32-byte preamble (magic, metadata length and checksum, body length),
/// the body, then the metadata: a file whose size, magic or metadata checksum does not add
/// up is a miss and is removed.
///
/// The index (name, size, recency) lives in memory and is rebuilt at start from a scan of
/// the directory (file sizes and modification times, no file opened), so a miss costs no
/// I/O; the least recently used objects are removed to stay under `maxSize`.
///
/// Every file operation runs on the store's own thread pool, never on an event loop.
public final class DiskStore: CacheStore {
    public let path: String
    public let maxSize: Int
    private let threadPool: NIOThreadPool
    /// The loop the store's own background work (removing files) completes on.
    private let loop: any EventLoop
    private let state: NIOLockedValueBox<State>
    /// Bytes read from a file at once; what a reader holds.
    static let readSize = 128 * 1024

    struct State {
        var index = LRUIndex<CacheObjectName>()
        var evictions = 0
        var isShutDown = false
    }

    private static let preambleSize = 32
    private static let magic: UInt32 = 0x4f52_434f  // "ORCO"

    private init(path: String, maxSize: Int, threadPool: NIOThreadPool, loop: any EventLoop, index: LRUIndex<CacheObjectName>) {
        self.loop = loop
        self.path = path
        self.maxSize = maxSize
        self.threadPool = threadPool
        self.state = NIOLockedValueBox(State(index: index))
    }

    /// Opens the store in `path` (created if missing), its index rebuilt from the files there.
    public static func open(path: String, maxSize: Int, on eventLoop: any EventLoop) -> EventLoopFuture<DiskStore> {
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let scanned = threadPool.runIfActive(eventLoop: eventLoop) {
            try Self.prepare(path)
            return try Self.scan(path)
        }
        return scanned.map { index in
            let store = DiskStore(path: path, maxSize: maxSize, threadPool: threadPool, loop: eventLoop, index: index)
            // Over its size after a restart with a smaller max_size: evict now.
            store.evict(toFit: 0)
            return store
        }.flatMapErrorThrowing { error in
            threadPool.shutdownGracefully { _ in }
            throw error
        }
    }

    // MARK: CacheStore

    public func mayHold(_ name: CacheObjectName) -> Bool {
        state.withLockedValue { $0.index.size(of: name) != nil }
    }

    public func open(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreObject?> {
        let known: Bool = state.withLockedValue { $0.index.touch(name) }
        guard known else { return eventLoop.makeSucceededFuture(nil) }
        let file = objectPath(name)
        let read = threadPool.runIfActive(eventLoop: eventLoop) { () -> (FileDescriptor, ByteBuffer, Int)? in
            let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { return nil }
                throw CacheStoreError.failed("open \(file): \(Self.errorText())")
            }
            let descriptor = FileDescriptor(fd)
            guard let (metadata, bodyLength) = try Self.readHead(descriptor) else {
                unlink(file)
                return nil
            }
            return (descriptor, metadata, bodyLength)
        }
        return read.map { [self] found in
            guard let (descriptor, metadata, bodyLength) = found else {
                state.withLockedValue { _ = $0.index.remove(name) }
                return nil
            }
            let threadPool = self.threadPool
            let removeObject: @Sendable () -> Void = { [weak self] in self?.forget(name, file: file) }
            return CacheStoreObject(
                metadata: metadata,
                bodyLength: bodyLength,
                readBody: { offset, length in
                    FileBodyReader(
                        descriptor: descriptor,
                        threadPool: threadPool,
                        offset: Self.preambleSize + offset,
                        remaining: length,
                        onTruncation: removeObject
                    )
                },
                release: { descriptor.close() }
            )
        }
    }

    public func beginFill(
        _ name: CacheObjectName,
        metadata: ByteBuffer,
        bodyLength: Int?,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<any CacheStoreWriter> {
        if let bodyLength, bodyLength + metadata.readableBytes + Self.preambleSize > maxSize {
            return eventLoop.makeFailedFuture(CacheStoreError.tooLarge(bodyLength))
        }
        let temporary = "\(path)/tmp/\(name.hex).\(UInt64.random(in: 0...UInt64.max))"
        let opened = threadPool.runIfActive(eventLoop: eventLoop) { () -> FileDescriptor in
            let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CacheStoreError.failed("create \(temporary): \(Self.errorText())") }
            return FileDescriptor(fd)
        }
        return opened.map { [self] descriptor in
            DiskFill(
                store: self,
                name: name,
                temporary: temporary,
                descriptor: descriptor,
                metadata: metadata,
                expectedLength: bodyLength,
                eventLoop: eventLoop
            )
        }
    }

    public func replaceMetadata(_ name: CacheObjectName, metadata: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let file = objectPath(name)
        return threadPool.runIfActive(eventLoop: eventLoop) {
            let fd = Glibc.open(file, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { return }
                throw CacheStoreError.failed("open \(file): \(Self.errorText())")
            }
            let descriptor = FileDescriptor(fd)
            defer { descriptor.close() }
            guard let (_, bodyLength) = try Self.readHead(descriptor) else {
                unlink(file)
                return
            }
            // The metadata follows the body: write it, cut the file to it, then the preamble.
            // Torn by a crash, the checksum no longer matches and the object is dropped.
            try Self.writeAll(descriptor, metadata, at: Self.preambleSize + bodyLength)
            guard ftruncate(descriptor.fd, off_t(Self.preambleSize + bodyLength + metadata.readableBytes)) == 0 else {
                throw CacheStoreError.failed("truncate \(file): \(Self.errorText())")
            }
            try Self.writeAll(descriptor, Self.preamble(metadata: metadata, bodyLength: bodyLength), at: 0)
        }
    }

    public func remove(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        state.withLockedValue { _ = $0.index.remove(name) }
        let file = objectPath(name)
        return threadPool.runIfActive(eventLoop: eventLoop) {
            if unlink(file) != 0, errno != ENOENT {
                throw CacheStoreError.failed("remove \(file): \(Self.errorText())")
            }
        }
    }

    /// Every name starting with `primary`'s is in its shard (`objects/xx/`), which is listed:
    /// about 1/256 of the store, whatever its size.
    public func removeVariants(of primary: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        let shard = "\(path)/objects/\(primary.hex.prefix(2))"
        return threadPool.runIfActive(eventLoop: eventLoop) { () -> [CacheObjectName] in
            var removed: [CacheObjectName] = []
            for entry in try Self.list(shard) where entry.hasPrefix(primary.hex) {
                guard let name = CacheObjectName(hex: entry), name.primary == primary else { continue }
                if unlink("\(shard)/\(entry)") == 0 {
                    removed.append(name)
                } else if errno != ENOENT {
                    throw CacheStoreError.failed("remove \(shard)/\(entry): \(Self.errorText())")
                }
            }
            return removed
        }.map { [self] removed in
            state.withLockedValue { state in
                for name in removed { _ = state.index.remove(name) }
            }
            return removed.count
        }
    }

    public func removeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        let names: [CacheObjectName] = state.withLockedValue { state in
            let names = state.index.keysOldestFirst
            state.index = LRUIndex()
            return names
        }
        let files = names.map(objectPath)
        return threadPool.runIfActive(eventLoop: eventLoop) {
            var removed = 0
            for file in files where unlink(file) == 0 {
                removed += 1
            }
            return removed
        }
    }

    /// Removes every object whose stored head's URI starts with `prefix` (`POST /v1/cache/purge?prefix=`),
    /// answering how many went; reads each object's metadata, so it costs a pass over the store.
    public func removeObjects(withURIPrefix prefix: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int>? {
        let names: [CacheObjectName] = state.withLockedValue { $0.index.keysOldestFirst }
        let files = names.map { (name: $0, file: objectPath($0)) }
        return threadPool.runIfActive(eventLoop: eventLoop) { () -> [CacheObjectName] in
            var removed: [CacheObjectName] = []
            for (name, file) in files {
                let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                let descriptor = FileDescriptor(fd)
                let head = (try? Self.readHead(descriptor)).flatMap { $0 }.flatMap { CacheEntryHead(decoding: $0.0) }
                descriptor.close()
                if let head, head.uri.hasPrefix(prefix), unlink(file) == 0 {
                    removed.append(name)
                }
            }
            return removed
        }.map { [self] removed in
            state.withLockedValue { state in
                for name in removed { _ = state.index.remove(name) }
            }
            return removed.count
        }
    }

    public func checkHealth(on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreHealth> {
        let probe = "\(path)/tmp/.health.\(UInt32.random(in: 0...UInt32.max))"
        return threadPool.runIfActive(eventLoop: eventLoop) {
            let fd = Glibc.open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return CacheStoreHealth(isUp: false, detail: "\(self.path) is not writable: \(Self.errorText())") }
            Glibc.close(fd)
            unlink(probe)
            return CacheStoreHealth(isUp: true)
        }.recover { error in
            CacheStoreHealth(isUp: false, detail: "\(error)")
        }
    }

    public var usage: CacheStoreUsage {
        state.withLockedValue { CacheStoreUsage(objects: $0.index.count, bytes: $0.index.totalSize, evictions: $0.evictions) }
    }

    public func shutdown() -> EventLoopFuture<Void> {
        state.withLockedValue { $0.isShutDown = true }
        let loop = loop
        let promise = loop.makePromise(of: Void.self)
        threadPool.shutdownGracefully { error in
            if let error { promise.fail(error) } else { promise.succeed(()) }
        }
        return promise.futureResult
    }

    // MARK: Files

    func objectPath(_ name: CacheObjectName) -> String {
        "\(path)/objects/\(name.hex.prefix(2))/\(name.hex)"
    }

    /// A fill's temporary file, complete, checked and synced, becomes the object `name`; the
    /// shard's directory is synced after the rename, so the name survives a crash too (the
    /// ext4/XFS rule: a rename is durable once its directory is).
    func commit(_ name: CacheObjectName, temporary: String, size: Int, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let destination = objectPath(name)
        let shard = "\(path)/objects/\(name.hex.prefix(2))"
        return threadPool.runIfActive(eventLoop: eventLoop) {
            guard rename(temporary, destination) == 0 else {
                let error = Self.errorText()
                unlink(temporary)
                throw CacheStoreError.failed("rename into \(destination): \(error)")
            }
            do {
                try Self.syncDirectory(shard)
            } catch {
                // Not known to be durable: not kept, as if the fill had failed.
                unlink(destination)
                throw error
            }
        }.map { [self] in
            state.withLockedValue { $0.index.insert(name, size: size) }
            evict(toFit: 0)
        }
    }

    func discard(_ temporary: String) {
        _ = threadPool.runIfActive(eventLoop: loop) {
            unlink(temporary)
        }
    }

    /// Removes the least recently used objects until the store is under its size.
    private func evict(toFit incoming: Int) {
        let evicted: [CacheObjectName] = state.withLockedValue { state in
            let evicted = state.index.evict(toFit: incoming, under: maxSize)
            state.evictions += evicted.count
            return evicted
        }
        guard !evicted.isEmpty else { return }
        let files = evicted.map(objectPath)
        _ = threadPool.runIfActive(eventLoop: loop) {
            for file in files { unlink(file) }
        }
    }

    /// An object found corrupt or truncated: out of the index and off the disk.
    private func forget(_ name: CacheObjectName, file: String) {
        state.withLockedValue { _ = $0.index.remove(name) }
        _ = threadPool.runIfActive(eventLoop: loop) {
            unlink(file)
        }
    }

    static func preamble(metadata: ByteBuffer, bodyLength: Int) -> ByteBuffer {
        var preamble = ByteBuffer()
        preamble.writeInteger(magic)
        preamble.writeInteger(UInt32(metadata.readableBytes))
        preamble.writeInteger(CacheEntryHead.checksum(metadata.readableBytesView))
        preamble.writeInteger(UInt32(0))
        preamble.writeInteger(UInt64(bodyLength))
        preamble.writeInteger(UInt64(0))
        return preamble
    }

    /// The metadata and body length of an open object file, `nil` when it does not add up.
    static func readHead(_ descriptor: FileDescriptor) throws -> (ByteBuffer, Int)? {
        var status = stat()
        guard fstat(descriptor.fd, &status) == 0 else { throw CacheStoreError.failed("stat: \(errorText())") }
        let fileSize = Int(status.st_size)
        guard fileSize >= preambleSize, var preamble = try read(descriptor, at: 0, count: preambleSize),
            preamble.readInteger(as: UInt32.self) == magic,
            let metadataLength = preamble.readInteger(as: UInt32.self),
            let checksum = preamble.readInteger(as: UInt32.self),
            preamble.readInteger(as: UInt32.self) != nil,
            let bodyLength = preamble.readInteger(as: UInt64.self), bodyLength <= UInt64(Int.max / 2),
            Int(metadataLength) <= CacheEntryHead.maximumEncodedLength,
            preambleSize + Int(bodyLength) + Int(metadataLength) == fileSize,
            let metadata = try read(descriptor, at: preambleSize + Int(bodyLength), count: Int(metadataLength)),
            metadata.readableBytes == Int(metadataLength),
            CacheEntryHead.checksum(metadata.readableBytesView) == checksum
        else { return nil }
        return (metadata, Int(bodyLength))
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    static func read(_ descriptor: FileDescriptor, at offset: Int, count: Int) throws -> ByteBuffer? {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        while buffer.readableBytes < count {
            let done = buffer.readableBytes
            var failure: CInt = 0
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { pointer in
                let result = pread(descriptor.fd, pointer.baseAddress, count - done, off_t(offset + done))
                if result < 0 { failure = errno }
                return max(0, result)
            }
            if failure == EINTR { continue }
            if failure != 0 { throw CacheStoreError.failed("read: \(String(cString: strerror(failure)))") }
            if got == 0 { break }  // the end of the file
        }
        return buffer
    }

    static func writeAll(_ descriptor: FileDescriptor, _ buffer: ByteBuffer, at offset: Int) throws {
        var written = 0
        let total = buffer.readableBytes
        while written < total {
            let result = buffer.withUnsafeReadableBytes { bytes in
                pwrite(descriptor.fd, bytes.baseAddress! + written, total - written, off_t(offset + written))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw CacheStoreError.failed("write: \(errorText())")
            }
            written += result
        }
    }

    /// `fsync` of a directory, making the renames and unlinks in it durable.
    static func syncDirectory(_ directory: String) throws {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CacheStoreError.failed("open \(directory): \(errorText())") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw CacheStoreError.failed("fsync \(directory): \(errorText())") }
    }

    static func errorText() -> String {
        String(cString: strerror(errno))
    }

    /// Creates the store's directories; removes temporary files a crash left.
    static func prepare(_ path: String) throws {
        for directory in [path, "\(path)/tmp", "\(path)/objects"] {
            if mkdir(directory, 0o755) != 0, errno != EEXIST {
                throw CacheStoreError.failed("cannot create \(directory): \(errorText())")
            }
        }
        for hi in 0..<16 {
            for lo in 0..<16 {
                let shard = "\(path)/objects/\(hexDigit(hi))\(hexDigit(lo))"
                if mkdir(shard, 0o755) != 0, errno != EEXIST {
                    throw CacheStoreError.failed("cannot create \(shard): \(errorText())")
                }
            }
        }
        for entry in try list("\(path)/tmp") {
            unlink("\(path)/tmp/\(entry)")
        }
    }

    private static func hexDigit(_ value: Int) -> Character {
        Array("0123456789abcdef")[value]
    }

    /// The index of the objects in `path`, least recently modified first.
    static func scan(_ path: String) throws -> LRUIndex<CacheObjectName> {
        var found: [(CacheObjectName, Int, Int)] = []
        for hi in 0..<16 {
            for lo in 0..<16 {
                let shard = "\(path)/objects/\(hexDigit(hi))\(hexDigit(lo))"
                for entry in try list(shard) {
                    var status = stat()
                    guard let name = CacheObjectName(hex: entry), stat("\(shard)/\(entry)", &status) == 0 else { continue }
                    found.append((name, Int(status.st_size), Int(status.st_mtim.tv_sec) * 1_000_000_000 + Int(status.st_mtim.tv_nsec)))
                }
            }
        }
        found.sort { $0.2 < $1.2 }
        var index = LRUIndex<CacheObjectName>()
        for (name, size, _) in found {
            index.insert(name, size: size)
        }
        return index
    }

    private static func list(_ directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            throw CacheStoreError.failed("cannot read \(directory): \(errorText())")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// An open file, closed once (explicitly, or when the last reference goes).
final class FileDescriptor: Sendable {
    private let state: NIOLockedValueBox<CInt>

    init(_ fd: CInt) {
        self.state = NIOLockedValueBox(fd)
    }

    /// The descriptor; -1 once closed.
    var fd: CInt { state.withLockedValue { $0 } }

    func close() {
        let fd: CInt = state.withLockedValue { fd in
            defer { fd = -1 }
            return fd
        }
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    deinit {
        close()
    }
}

/// Reads a stored body from its file on the store's thread pool, a part at a time.
final class FileBodyReader: CacheBodyReader {
    private let descriptor: FileDescriptor
    private let threadPool: NIOThreadPool
    private let position: NIOLockedValueBox<(offset: Int, remaining: Int)>
    private let onTruncation: @Sendable () -> Void

    init(descriptor: FileDescriptor, threadPool: NIOThreadPool, offset: Int, remaining: Int, onTruncation: @escaping @Sendable () -> Void) {
        self.descriptor = descriptor
        self.threadPool = threadPool
        self.position = NIOLockedValueBox((offset, remaining))
        self.onTruncation = onTruncation
    }

    func next(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?> {
        let (offset, remaining) = position.withLockedValue { $0 }
        guard remaining > 0 else {
            descriptor.close()
            return eventLoop.makeSucceededFuture(nil)
        }
        let count = min(remaining, DiskStore.readSize)
        let descriptor = self.descriptor
        return threadPool.runIfActive(eventLoop: eventLoop) {
            guard descriptor.fd >= 0 else { throw CacheStoreError.shutDown }
            return try DiskStore.read(descriptor, at: offset, count: count)
        }.flatMapThrowing { [self] part in
            guard let part, part.readableBytes == count else {
                descriptor.close()
                onTruncation()
                throw CacheStoreError.truncated
            }
            position.withLockedValue { $0 = (offset + count, remaining - count) }
            return part
        }
    }

    func cancel() {
        descriptor.close()
    }
}

/// A fill being written to its temporary file; writes are chained, one at a time, in order.
final class DiskFill: CacheStoreWriter {
    private let store: DiskStore
    private let name: CacheObjectName
    private let temporary: String
    private let descriptor: FileDescriptor
    private let metadata: ByteBuffer
    private let expectedLength: Int?
    private let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<(written: Int, last: EventLoopFuture<Void>?, aborted: Bool)>

    init(
        store: DiskStore,
        name: CacheObjectName,
        temporary: String,
        descriptor: FileDescriptor,
        metadata: ByteBuffer,
        expectedLength: Int?,
        eventLoop: any EventLoop
    ) {
        self.store = store
        self.name = name
        self.temporary = temporary
        self.descriptor = descriptor
        self.metadata = metadata
        self.expectedLength = expectedLength
        self.eventLoop = eventLoop
        self.state = NIOLockedValueBox((0, nil, false))
    }

    func write(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        let descriptor = self.descriptor
        let pool = store.threadPoolForFills
        let (offset, previous): (Int, EventLoopFuture<Void>?) = state.withLockedValue { state in
            defer { state.written += part.readableBytes }
            return (state.written, state.last)
        }
        if offset + part.readableBytes > store.maxSize {
            return eventLoop.makeFailedFuture(CacheStoreError.tooLarge(offset + part.readableBytes))
        }
        let run: @Sendable () -> EventLoopFuture<Void> = { [eventLoop] in
            pool.runIfActive(eventLoop: eventLoop) {
                guard descriptor.fd >= 0 else { throw CacheStoreError.shutDown }
                try DiskStore.writeAll(descriptor, part, at: 32 + offset)
            }
        }
        let next = previous.map { $0.flatMap(run) } ?? run()
        state.withLockedValue { $0.last = next }
        return next
    }

    func commit() -> EventLoopFuture<Void> {
        let (written, last, aborted) = state.withLockedValue { $0 }
        guard !aborted else { return eventLoop.makeFailedFuture(CacheStoreError.shutDown) }
        if let expectedLength, written != expectedLength {
            abort()
            return eventLoop.makeFailedFuture(CacheStoreError.lengthMismatch(expected: expectedLength, actual: written))
        }
        let descriptor = self.descriptor
        let metadata = self.metadata
        let pool = store.threadPoolForFills
        let finish: @Sendable () -> EventLoopFuture<Void> = { [eventLoop] in
            pool.runIfActive(eventLoop: eventLoop) {
                try DiskStore.writeAll(descriptor, metadata, at: 32 + written)
                try DiskStore.writeAll(descriptor, DiskStore.preamble(metadata: metadata, bodyLength: written), at: 0)
                // On the disk before the rename makes it visible: a crash then leaves the old
                // object or the whole new one, never a named file with holes.
                guard fsync(descriptor.fd) == 0 else { throw CacheStoreError.failed("fsync: \(DiskStore.errorText())") }
                descriptor.close()
            }
        }
        let size = 32 + written + metadata.readableBytes
        let done = (last.map { $0.flatMap(finish) } ?? finish()).flatMap { [self] in
            store.commit(name, temporary: temporary, size: size, on: eventLoop)
        }
        done.whenFailure { [self] _ in abort() }
        return done
    }

    func abort() {
        let wasAborted: Bool = state.withLockedValue { state in
            defer { state.aborted = true }
            return state.aborted
        }
        guard !wasAborted else { return }
        let last: EventLoopFuture<Void>? = state.withLockedValue { $0.last }
        let cleanup: @Sendable () -> Void = { [descriptor, store, temporary] in
            descriptor.close()
            store.discard(temporary)
        }
        if let last {
            last.whenComplete { _ in cleanup() }
        } else {
            cleanup()
        }
    }
}

extension DiskStore {
    var threadPoolForFills: NIOThreadPool { threadPool }
}
