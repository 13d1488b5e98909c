/// LZW as Go's `compress/lzw` writes and reads it with `lzw.LSB` and literal width 8, the only form memberlist
/// uses (memberlist `util.go`, `compressPayload` / `decompressBuffer`, `lzwLitWidth = 8`).
///
/// Go's rules, matched exactly (Go `src/compress/lzw/writer.go`, `reader.go`): codes start 9 bits wide and grow
/// to at most 12; code 256 is *clear* and 257 *end of data*; the writer sends a clear code first, grows the
/// width when the next code to assign reaches the current power of two, and when code 4095 would be assigned it
/// sends a clear code and starts over; it ends with the pending code, the end code, and the remaining bits
/// (least significant first). The reader refuses a code above the next to be assigned, and input that ends
/// before the end code (Go's `io.ErrUnexpectedEOF`, which memberlist treats as a failed decompression).
public enum LZW {
    /// memberlist `net.go`, `maxDecompressedBytes`: twice the largest push-pull state.
    public static let defaultMaximumOutput = 2 * 20 * 1024 * 1024

    private static let clearCode: UInt32 = 256
    private static let endCode: UInt32 = 257
    private static let maximumCode: UInt32 = 4095
    private static let maximumWidth = 12

    // MARK: Writing

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.reserve(input.count / 2 + 8)
        var width = 9
        var next = endCode  // `hi` in Go: the last code assigned
        var overflow: UInt32 = 512
        // Go's open-addressed table: key (code << 8 | literal) << 12 | value, 0xffffffff empty.
        let tableSize = 1 << 14
        let tableMask = UInt32(tableSize - 1)
        var table = [UInt32](repeating: .max, count: tableSize)

        writer.write(clearCode, width: width)
        guard let first = input.first else {
            writer.write(endCode, width: width)
            return writer.finish()
        }
        var code = UInt32(first)

        /// Go's `incHi`: true when the table was reset (the key must not be inserted).
        func advance() -> Bool {
            next += 1
            if next == overflow {
                width += 1
                overflow <<= 1
            }
            if next == maximumCode {
                writer.write(clearCode, width: width)
                width = 9
                next = endCode
                overflow = 512
                for index in table.indices { table[index] = .max }
                return true
            }
            return false
        }

        var index = 1
        literals: while index < input.count {
            let literal = UInt32(input[index])
            index += 1
            let key = code << 8 | literal
            var hash = (key >> 12 ^ key) & tableMask
            var probe = hash
            while table[Int(probe)] != .max {
                if table[Int(probe)] >> 12 == key {
                    code = table[Int(probe)] & maximumCode
                    continue literals
                }
                probe = (probe + 1) & tableMask
            }
            writer.write(code, width: width)
            code = literal
            if advance() { continue }
            while table[Int(hash)] != .max { hash = (hash + 1) & tableMask }
            table[Int(hash)] = key << 12 | next
        }
        writer.write(code, width: width)
        _ = advance()
        writer.write(endCode, width: width)
        return writer.finish()
    }

    // MARK: Reading

    /// Decompresses `input`, refusing more than `maximumOutput` bytes of output.
    public static func decompress(_ input: [UInt8], maximumOutput: Int = defaultMaximumOutput) throws(WireError) -> [UInt8] {
        var reader = BitReader(input)
        var output: [UInt8] = []
        output.reserveCapacity(min(maximumOutput, input.count * 3))
        let invalid: UInt32 = 0xffff
        var width = 9
        var next = endCode  // `hi` in Go: the code the next entry gets
        var overflow: UInt32 = 512
        var last = invalid
        var prefix = [UInt16](repeating: 0, count: 1 << maximumWidth)
        var suffix = [UInt8](repeating: 0, count: 1 << maximumWidth)
        var expansion = [UInt8](repeating: 0, count: 1 << maximumWidth)

        while true {
            guard let code = reader.read(width: width) else {
                throw .invalidLZW("the data ends before the end code")
            }
            if code < clearCode {
                guard output.count < maximumOutput else {
                    throw .tooLarge(what: "decompressed data", length: output.count + 1, limit: maximumOutput)
                }
                output.append(UInt8(code))
                if last != invalid {
                    suffix[Int(next)] = UInt8(code)
                    prefix[Int(next)] = UInt16(last)
                }
            } else if code == clearCode {
                width = 9
                next = endCode
                overflow = 512
                last = invalid
                continue
            } else if code == endCode {
                return output
            } else if code <= next {
                var cursor = expansion.count - 1
                var chain = code
                if code == next, last != invalid {
                    chain = last
                    while chain >= clearCode { chain = UInt32(prefix[Int(chain)]) }
                    expansion[cursor] = UInt8(chain)
                    cursor -= 1
                    chain = last
                }
                while chain >= clearCode {
                    guard cursor > 0 else { throw .invalidLZW("a code's expansion loops") }
                    expansion[cursor] = suffix[Int(chain)]
                    cursor -= 1
                    chain = UInt32(prefix[Int(chain)])
                }
                expansion[cursor] = UInt8(chain)
                let produced = expansion.count - cursor
                guard output.count + produced <= maximumOutput else {
                    throw .tooLarge(what: "decompressed data", length: output.count + produced, limit: maximumOutput)
                }
                output.append(contentsOf: expansion[cursor...])
                if last != invalid {
                    suffix[Int(next)] = UInt8(chain)
                    prefix[Int(next)] = UInt16(last)
                }
            } else {
                throw .invalidLZW("code \(code) above the next code \(next)")
            }
            last = code
            next += 1
            if next >= overflow {
                if width == maximumWidth {
                    last = invalid
                    next -= 1
                } else {
                    width += 1
                    overflow = 1 << UInt32(width)
                }
            }
        }
    }
}

/// Codes packed least significant bit first (Go `compress/lzw`, `writeLSB`).
private struct BitWriter {
    private var bytes: [UInt8] = []
    private var bits: UInt32 = 0
    private var count = 0

    mutating func reserve(_ capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func write(_ code: UInt32, width: Int) {
        bits |= code << UInt32(count)
        count += width
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
            count -= 8
        }
    }

    mutating func finish() -> [UInt8] {
        if count > 0 { bytes.append(UInt8(truncatingIfNeeded: bits)) }
        return bytes
    }
}

/// Go `compress/lzw`, `readLSB`.
private struct BitReader {
    private let bytes: [UInt8]
    private var position = 0
    private var bits: UInt32 = 0
    private var count = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func read(width: Int) -> UInt32? {
        while count < width {
            guard position < bytes.count else { return nil }
            bits |= UInt32(bytes[position]) << UInt32(count)
            position += 1
            count += 8
        }
        let code = bits & (1 << UInt32(width) - 1)
        bits >>= UInt32(width)
        count -= width
        return code
    }
}
