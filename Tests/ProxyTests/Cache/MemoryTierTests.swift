import NIOCore
import NIOPosix
import Testing

@testable import Proxy

/// The memory tier over a real disk store: copies come in on a commit or a read, go on a change of their
/// name, and never outlive what the store holds.
@Suite struct MemoryTierTests {
    let disk = DiskStoreTests()
    var loop: any EventLoop { disk.loop }

    func withTier(maxSize: Int = 1 << 20, maxObjectSize: Int = 64 << 10, _ body: (MemoryTier, DiskStore) async throws -> Void) async throws {
        let path = DiskStoreTests.temporaryDirectory()
        defer { DiskStoreTests.removeDirectory(path) }
        let store = try await DiskStore.open(path: path, maxSize: 8 << 20, on: loop).get()
        let tier = MemoryTier(store: store, maxSize: maxSize, maxObjectSize: maxObjectSize)
        try await body(tier, store)
        try await tier.shutdown().get()
    }

    @Test func aCommittedFillIsAnsweredFromMemory() async throws {
        try await withTier { tier, store in
            try await disk.fill(tier, disk.name("a"), body: "hello", metadata: "m")
            #expect(tier.memoryUsage.objects == 1)
            let found = try await disk.read(tier, disk.name("a"))
            #expect(found?.0 == "m" && found?.1 == "hello")
            #expect(try await disk.read(tier, disk.name("a"), offset: 1, length: 3)?.1 == "ell")
            #expect(tier.memoryUsage.hits == 2)
            // The store holds it too: the tier only keeps a copy.
            #expect(try await disk.read(store, disk.name("a"))?.1 == "hello")
        }
    }

    @Test func anObjectOnlyInTheStoreIsCopiedAtItsFirstRead() async throws {
        try await withTier { tier, store in
            try await disk.fill(store, disk.name("a"), body: "from disk")
            #expect(tier.memoryUsage.objects == 0)
            #expect(try await disk.read(tier, disk.name("a"))?.1 == "from disk")
            #expect(tier.memoryUsage.objects == 1 && tier.memoryUsage.hits == 0)
            #expect(try await disk.read(tier, disk.name("a"))?.1 == "from disk")
            #expect(tier.memoryUsage.hits == 1)
        }
    }

    @Test func objectsOverTheObjectLimitStayInTheStoreOnly() async throws {
        try await withTier(maxObjectSize: 100) { tier, _ in
            let big = String(repeating: "x", count: 200)
            try await disk.fill(tier, disk.name("big"), body: big)
            // Declared too large, and found too large as it comes when the length is not declared.
            let writer = try await tier.beginFill(disk.name("unsized"), metadata: ByteBuffer(string: "m"), bodyLength: nil, on: loop).get()
            for _ in 0..<4 { try await writer.write(ByteBuffer(string: String(repeating: "y", count: 50))).get() }
            try await writer.commit().get()
            #expect(try await disk.read(tier, disk.name("big"))?.1 == big)
            #expect(try await disk.read(tier, disk.name("unsized"))?.1.count == 200)
            #expect(tier.memoryUsage.objects == 0 && tier.memoryUsage.hits == 0)
        }
    }

    @Test func removalReplacementAndPurgeDropTheCopy() async throws {
        try await withTier { tier, _ in
            try await disk.fill(tier, disk.name("a"), body: "one", metadata: "m1")
            try await tier.replaceMetadata(disk.name("a"), metadata: ByteBuffer(string: "m2"), on: loop).get()
            #expect(try await disk.read(tier, disk.name("a"))?.0 == "m2")
            try await disk.fill(tier, disk.name("a"), body: "two")
            #expect(try await disk.read(tier, disk.name("a"))?.1 == "two")
            try await tier.remove(disk.name("a"), on: loop).get()
            #expect(try await disk.read(tier, disk.name("a")) == nil)
            try await disk.fill(tier, disk.name("b"), body: "b")
            #expect(try await tier.removeAll(on: loop).get() == 1)
            #expect(try await disk.read(tier, disk.name("b")) == nil)
            #expect(tier.memoryUsage.objects == 0)
        }
    }

    /// A URI's removal with its variants drops their copies too; another URI's copy stays.
    @Test func removingAURIWithItsVariantsDropsTheirCopies() async throws {
        try await withTier { tier, store in
            let key = CacheKey(uri: "http://h/v")
            let variant = key.objectName(variant: [VaryValue(name: "accept", value: "a")])
            for name in [key.objectName, variant, disk.name("http://h/other")] {
                try await disk.fill(tier, name, body: "body")
            }
            #expect(tier.memoryUsage.objects == 3)
            #expect(try await tier.removeVariants(of: key.objectName, on: loop).get() == 2)
            #expect(tier.memoryUsage.objects == 1)
            #expect(try await disk.read(tier, variant) == nil)
            #expect(try await disk.read(store, variant) == nil)
            #expect(try await disk.read(tier, disk.name("http://h/other"))?.1 == "body")
        }
    }

    /// A read of the store still under way when its name is removed does not bring the removed object back.
    @Test func aReadOverlappingARemovalKeepsNoCopy() async throws {
        try await withTier { tier, store in
            for round in 0..<50 {
                let name = disk.name("r\(round)")
                try await disk.fill(store, name, body: "old \(round)")
                let reading = tier.open(name, on: loop)
                let removing = tier.remove(name, on: loop)
                _ = try await reading.get()
                try await removing.get()
                #expect(try await disk.read(tier, name) == nil, "round \(round)")
            }
            #expect(tier.memoryUsage.objects == 0)
        }
    }

    @Test func theLeastRecentlyUsedCopiesGoFirst() async throws {
        try await withTier(maxSize: 300, maxObjectSize: 150) { tier, _ in
            let body = String(repeating: "x", count: 96)
            for key in ["a", "b", "c"] { try await disk.fill(tier, disk.name(key), body: body, metadata: "m") }
            // a, b, c at 100 bytes each fill the tier; a read of a makes b the oldest.
            _ = try await disk.read(tier, disk.name("a"))
            try await disk.fill(tier, disk.name("d"), body: body, metadata: "m")
            #expect(tier.memoryUsage.objects == 3)
            let hits = tier.memoryUsage.hits
            _ = try await disk.read(tier, disk.name("b"))
            #expect(tier.memoryUsage.hits == hits, "b left the tier, read from the store")
            _ = try await disk.read(tier, disk.name("a"))
            #expect(tier.memoryUsage.hits == hits + 1)
        }
    }

    @Test func anAbortedFillLeavesNoCopy() async throws {
        try await withTier { tier, _ in
            let writer = try await tier.beginFill(disk.name("a"), metadata: ByteBuffer(string: "m"), bodyLength: 5, on: loop).get()
            try await writer.write(ByteBuffer(string: "he")).get()
            writer.abort()
            #expect(try await disk.read(tier, disk.name("a")) == nil)
            #expect(tier.memoryUsage.objects == 0)
        }
    }
}
