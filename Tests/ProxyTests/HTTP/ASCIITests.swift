import Testing

@testable import Proxy

@Suite struct ASCIITests {
    @Test func tokenCharactersAreExactlyTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(ASCII.isTokenCharacter(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    /// The word-at-a-time test never misses a control byte, whatever the other seven bytes are.
    @Test func wordTestFindsEveryControlByteInEveryPosition() {
        var generator = SeededGenerator(seed: 7)
        let backgrounds: [UInt8] = [0x00, 0x09, 0x1F, 0x20, 0x61, 0x7E, 0x7F, 0x80, 0xFF]
        for byte in UInt8.min...UInt8.max where !ASCII.isFieldValueByte(byte) {
            for position in 0..<8 {
                for round in 0..<(backgrounds.count + 20) {
                    var bytes = (0..<8).map { _ in
                        round < backgrounds.count ? backgrounds[round] : UInt8.random(in: 0...255, using: &generator)
                    }
                    bytes[position] = byte
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(ASCII.mayHoldControlByte(word), "byte \(byte) at \(position) in \(bytes)")
                }
            }
        }
    }

    @Test func allFieldValueBytesAgreesWithTheByteTest() {
        var generator = SeededGenerator(seed: 11)
        // Mostly visible text with now and then a tab, obs-text or a control byte.
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0x09, 0x09, 0x80, 0xC3, 0xFF] + [0x00, 0x0A, 0x0D, 0x1F, 0x7F]
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0..<20, using: &generator) == 0
                    ? alphabet.randomElement(using: &generator)!
                    : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            let start = Int.random(in: 0...bytes.count, using: &generator)
            let expected = bytes[start...].allSatisfy(ASCII.isFieldValueByte)
            bytes.withUnsafeBytes { raw in
                #expect(ASCII.allFieldValueBytes(raw, from: start) == expected, "\(bytes) from \(start)")
            }
        }
    }
}
