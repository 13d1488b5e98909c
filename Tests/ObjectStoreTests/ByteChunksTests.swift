import NIOCore
import Testing

@Suite struct ByteChunksTests {
    /// The generated stream matches itself at every offset the checks use.
    @Test func theStreamMatchesItsOwnChecks() async throws {
        var all = ByteBuffer()
        var offset: Int64 = 0
        for try await part in ByteChunks(count: 3 << 20) {
            #expect(ByteChunks.matches(part, from: offset), "\(offset)")
            offset += Int64(part.readableBytes)
            var copy = part
            all.writeBuffer(&copy)
        }
        #expect(ByteChunks.matches(all, from: 0))
        #expect(!ByteChunks.matches(all, from: 1))
    }
}
