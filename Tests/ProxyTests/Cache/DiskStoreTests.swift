#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Testing

@testable import Proxy

/// The disk store on a temporary directory: fills visible only at a checked commit, reads in
/// parts, corrupt and truncated objects dropped, LRU eviction, the index rebuilt at start.
@Suite struct DiskStoreTests {
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/outrider-cache-test-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    static func removeDirectory(_ path: String) {
        _ = path.withCString { _ in system("rm -rf '\(path)'") }
    }

    let loop = MultiThreadedEventLoopGroup.singleton.next()

    func name(_ text: String) -> CacheObjectName { CacheKey(uri: text).objectName }

    func fill(_ store: any CacheStore, _ name: CacheObjectName, body: String, declared: Int? = nil, metadata: String = "meta") async throws {
        let writer = try await store.beginFill(name, metadata: ByteBuffer(string: metadata), bodyLength: declared ?? body.utf8.count, on: loop).get()
        var rest = ByteBuffer(string: body)
        while rest.readableBytes > 0 {
            try await writer.write(rest.readSlice(length: min(max(3, body.utf8.count / 8), rest.readableBytes))!).get()
        }
        try await writer.commit().get()
    }

    func read(_ store: any CacheStore, _ name: CacheObjectName, offset: Int = 0, length: Int? = nil) async throws -> (String, String)? {
        guard let object = try await store.open(name, on: loop).get() else { return nil }
        let reader = object.readBody(offset, length ?? object.bodyLength - offset)
        var body = ByteBuffer()
        while let part = try await reader.next(on: loop).get() {
            body.writeImmutableBuffer(part)
        }
        return (String(buffer: object.metadata), String(buffer: body))
    }

    /// A URI's variants are named after it and kept in its shard: removed with it, found again by the scan at
    /// start; other URIs' objects stay.
    @Test func removeVariantsTakesTheURIAndItsVariantsAndTheScanKnowsVariants() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let key = CacheKey(uri: "http://h/v")
        let variants = [key.objectName(variant: [VaryValue(name: "accept", value: "a")]), key.objectName(variant: [VaryValue(name: "accept", value: nil)])]
        var store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        for name in [key.objectName, name("http://h/other")] + variants {
            try await fill(store, name, body: "body")
        }
        try await store.shutdown().get()
        store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        #expect(store.usage.objects == 4)
        #expect(try await read(store, variants[0])?.1 == "body")
        #expect(try await store.removeVariants(of: key.objectName, on: loop).get() == 3)
        #expect(store.usage.objects == 1)
        #expect(try await read(store, variants[1]) == nil)
        #expect(try await read(store, name("http://h/other"))?.1 == "body")
        #expect(try await store.removeVariants(of: key.objectName, on: loop).get() == 0)
        try await store.shutdown().get()
    }

    /// A commit syncs the object's directory after the rename; a directory that cannot be synced is an error
    /// that says which (the object is then not kept).
    @Test func directorySyncNamesWhatFailed() throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        try DiskStore.syncDirectory(path)
        #expect(throws: CacheStoreError.self) { try DiskStore.syncDirectory(path + "/missing") }
        do {
            try DiskStore.syncDirectory(path + "/missing")
        } catch {
            #expect("\(error)".contains("\(path)/missing"))
        }
    }

    @Test func aFillIsVisibleOnlyOnceCommittedAndReadsBackInParts() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        let writer = try await store.beginFill(name("a"), metadata: ByteBuffer(string: "m"), bodyLength: 5, on: loop).get()
        try await writer.write(ByteBuffer(string: "hel")).get()
        #expect(try await store.open(name("a"), on: loop).get() == nil)
        try await writer.write(ByteBuffer(string: "lo")).get()
        try await writer.commit().get()
        let found = try await read(store, name("a"))
        #expect(found?.0 == "m" && found?.1 == "hello")
        #expect(try await read(store, name("a"), offset: 1, length: 3)?.1 == "ell")
        #expect(store.usage.objects == 1)
        try await store.shutdown().get()
    }

    @Test func aWrongLengthOrAnAbortLeavesNothing() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        await #expect(throws: CacheStoreError.lengthMismatch(expected: 9, actual: 5)) {
            try await fill(store, name("short"), body: "hello", declared: 9)
        }
        let writer = try await store.beginFill(name("gone"), metadata: ByteBuffer(), bodyLength: nil, on: loop).get()
        try await writer.write(ByteBuffer(string: "part")).get()
        writer.abort()
        #expect(try await store.open(name("short"), on: loop).get() == nil)
        #expect(try await store.open(name("gone"), on: loop).get() == nil)
        try await eventually { (try? listing("\(path)/tmp")) == [] }
        try await store.shutdown().get()
    }

    @Test func twoFillsOfOneNameEachLandWhole() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        let first = try await store.beginFill(name("k"), metadata: ByteBuffer(string: "1"), bodyLength: 3, on: loop).get()
        let second = try await store.beginFill(name("k"), metadata: ByteBuffer(string: "2"), bodyLength: 3, on: loop).get()
        try await first.write(ByteBuffer(string: "aaa")).get()
        try await second.write(ByteBuffer(string: "bbb")).get()
        try await second.commit().get()
        try await first.commit().get()
        let found = try await read(store, name("k"))
        #expect(found?.0 == "1" && found?.1 == "aaa")
        #expect(store.usage.objects == 1)
        try await store.shutdown().get()
    }

    @Test func truncatedOrCorruptObjectsAreMissesAndRemoved() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        try await fill(store, name("t"), body: String(repeating: "x", count: 1000))
        try await fill(store, name("c"), body: "body", metadata: "metadata")
        let truncated = store.objectPath(name("t"))
        #expect(truncate(truncated, 500) == 0)
        #expect(try await store.open(name("t"), on: loop).get() == nil)
        #expect(access(truncated, F_OK) != 0)
        // A flipped byte in the metadata.
        let corrupt = store.objectPath(name("c"))
        let fd = open(corrupt, O_WRONLY)
        _ = pwrite(fd, "X", 1, off_t(32 + 4 + 2))
        close(fd)
        #expect(try await store.open(name("c"), on: loop).get() == nil)
        #expect(access(corrupt, F_OK) != 0)
        #expect(store.usage.objects == 0)
        try await store.shutdown().get()
    }

    @Test func theBodyShrinkingWhileReadIsTruncationNotAHang() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 1 << 22, on: loop).get()
        try await fill(store, name("big"), body: String(repeating: "y", count: 300_000))
        let object = try #require(try await store.open(name("big"), on: loop).get())
        #expect(truncate(store.objectPath(name("big")), 1000) == 0)
        let reader = object.readBody(0, object.bodyLength)
        await #expect(throws: CacheStoreError.truncated) {
            while try await reader.next(on: loop).get() != nil {}
        }
        try await store.shutdown().get()
    }

    @Test func leastRecentlyUsedObjectsAreEvictedOverTheSize() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        // Each object is 32 + 100 + 4 bytes; three fit.
        let store = try await DiskStore.open(path: path, maxSize: 3 * 136 + 10, on: loop).get()
        let body = String(repeating: "z", count: 100)
        try await fill(store, name("1"), body: body)
        try await fill(store, name("2"), body: body)
        try await fill(store, name("3"), body: body)
        _ = try await read(store, name("1"))
        try await fill(store, name("4"), body: body)
        #expect(try await store.open(name("2"), on: loop).get() == nil)
        #expect(try await read(store, name("1")) != nil)
        #expect(try await read(store, name("3")) != nil)
        #expect(store.usage.evictions == 1)
        #expect(store.usage.bytes == 3 * 136)
        try await store.shutdown().get()
    }

    @Test func theIndexIsRebuiltFromTheFilesAtStart() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        var store = try await DiskStore.open(path: path, maxSize: 1 << 24, on: loop).get()
        for index in 0..<300 {
            try await fill(store, name("n\(index)"), body: "body \(index)")
        }
        try await store.shutdown().get()
        store = try await DiskStore.open(path: path, maxSize: 1 << 24, on: loop).get()
        #expect(store.usage.objects == 300)
        #expect(try await read(store, name("n123"))?.1 == "body 123")
        try await store.shutdown().get()
        // A smaller size at restart evicts down to it.
        store = try await DiskStore.open(path: path, maxSize: 10 * 50, on: loop).get()
        #expect(store.usage.bytes <= 500)
        #expect(store.usage.evictions > 0)
        try await store.shutdown().get()
    }

    @Test func objectsAreRemovedByTheirURIsPrefix() async throws {
        let path = Self.temporaryDirectory()
        defer { Self.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 1 << 20, on: loop).get()
        for uri in ["http://h/a/1", "http://h/a/2", "http://h/b/1"] {
            let writer = try await store.beginFill(CacheKey(uri: uri).objectName, metadata: CacheEntryHead(uri: uri).encoded(), bodyLength: 1, on: loop).get()
            try await writer.write(ByteBuffer(string: "x")).get()
            try await writer.commit().get()
        }
        #expect(try await #require(store.removeObjects(withURIPrefix: "http://h/a/", on: loop)).get() == 2)
        #expect(try await store.open(CacheKey(uri: "http://h/a/1").objectName, on: loop).get() == nil)
        #expect(try await store.open(CacheKey(uri: "http://h/b/1").objectName, on: loop).get() != nil)
        #expect(store.usage.objects == 1)
        try await store.shutdown().get()
    }

    @Test func theLRUIndex() {
        var index = LRUIndex<String>()
        index.insert("a", size: 10)
        index.insert("b", size: 20)
        index.insert("c", size: 30)
        #expect(index.totalSize == 60)
        index.touch("a")
        #expect(index.keysOldestFirst == ["b", "c", "a"])
        #expect(index.evict(toFit: 15, under: 60) == ["b"])
        index.insert("c", size: 5)
        #expect(index.keysOldestFirst == ["a", "c"])
        #expect(index.totalSize == 15)
        #expect(index.remove("a") == 10)
        #expect(index.removeOldest()?.key == "c")
        #expect(index.count == 0 && index.totalSize == 0)
    }

    func listing(_ directory: String) throws -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
