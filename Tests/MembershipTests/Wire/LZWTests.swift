import Foundation
import Testing

@testable import Membership

/// LZW against Go's output: the captured serf streams (in ``CapturedTrafficTests``) and, for inputs long enough
/// to grow codes to 12 bits and reset the table, vectors from the independent oracle in
/// `Resources/lzw_oracle.py` (which reproduces the captured Go streams).
@Suite struct LZWTests {
    private func resource(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: CapturedTraffic.directory.deletingLastPathComponent().appendingPathComponent(name)))
    }

    @Test(arguments: ["lzw-words", "lzw-random"])
    func matchesTheOracle(_ name: String) throws {
        let input = try resource("\(name).in")
        let expected = try resource("\(name).lzw")
        #expect(LZW.compress(input) == expected)
        #expect(try LZW.decompress(expected) == input)
    }

    @Test func emptyAndTinyInputs() throws {
        // Clear then end, 9 bits each: 0x100 | 0x101 << 9.
        #expect(LZW.compress([]) == [0x00, 0x03, 0x02])
        #expect(try LZW.decompress(LZW.compress([])) == [])
        #expect(try LZW.decompress(LZW.compress([7])) == [7])
    }

    @Test func seededRandomRoundTrips() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<60 {
            let alphabet = UInt8.random(in: 1...255, using: &generator)
            let count = Int.random(in: 0...20000, using: &generator)
            let input = (0..<count).map { _ in UInt8.random(in: 0...alphabet, using: &generator) }
            #expect(try LZW.decompress(LZW.compress(input)) == input)
        }
    }

    @Test func badStreamsAreErrors() {
        #expect(throws: WireError.self) { try LZW.decompress([]) }
        // Clear code, then code 300 (above the next code 258).
        #expect(throws: WireError.self) { try LZW.decompress([0x00, 0x59, 0x02]) }
        // A stream without its end code.
        let cut = Array(LZW.compress(Array(repeating: 1, count: 100)).dropLast(2))
        #expect(throws: WireError.self) { try LZW.decompress(cut) }
        // Output limit.
        let big = LZW.compress(Array(repeating: 0, count: 100_000))
        #expect(throws: WireError.self) { try LZW.decompress(big, maximumOutput: 1000) }
    }
}
