import NIOCore
import TestSupport

/// A request body of `count` deterministic bytes in `chunk`-sized buffers, made as they are asked for (so a
/// large upload is never whole in memory); `failingAfter` throws once that many bytes went out. The bytes repeat
/// with a prime period from a precomputed table, so making and checking them is cheap even in debug builds.
struct ByteChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let count: Int64
    var chunk = 64 << 10
    var failingAfter: Int64?

    struct Broken: Error {}

    static let period = 65_521
    static let table: [UInt8] = {
        var generator = SeededGenerator(seed: 53)
        let base = (0..<period).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // Periodic past its end too, so a slice from any start continues the same sequence.
        return (0..<(period + (1 << 20))).map { base[$0 % period] }
    }()

    static func byte(at offset: Int64) -> UInt8 { table[Int(offset % Int64(period))] }

    /// `length` (at most 1 MiB) bytes from `offset`.
    static func bytes(from offset: Int64, length: Int) -> ArraySlice<UInt8> {
        let start = Int(offset % Int64(period))
        return table[start..<(start + length)]
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: ByteChunks
        var offset: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            if let limit = source.failingAfter, offset >= limit { throw Broken() }
            guard offset < source.count else { return nil }
            let length = Int(Swift.min(Int64(Swift.min(source.chunk, 1 << 20)), source.count - offset))
            let buffer = ByteBuffer(bytes: ByteChunks.bytes(from: offset, length: length))
            offset += Int64(length)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }

    /// Whether `buffer` holds bytes `from..<from+readableBytes` of the sequence.
    static func matches(_ buffer: ByteBuffer, from: Int64) -> Bool {
        var offset = 0
        let view = buffer.readableBytesView
        while offset < view.count {
            let length = Swift.min(1 << 20, view.count - offset)
            let start = view.index(view.startIndex, offsetBy: offset)
            guard view[start..<(start + length)].elementsEqual(bytes(from: from + Int64(offset), length: length)) else { return false }
            offset += length
        }
        return true
    }
}
