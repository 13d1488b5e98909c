import NIOCore

/// Writes a head into memory reserved for it ahead, piece by piece, as plain copies.
///
/// Two heads are written for every proxied request, each from a dozen pieces (the request
/// line, runs of kept field lines, the fields the proxy adds); through `ByteBuffer`'s own
/// writes each piece pays for capacity checks and index bookkeeping. The caller reserves the
/// most the head can take (see ``ByteBuffer/writeHead(maximumLength:_:)``), and a piece that
/// would not fit stops the process rather than write past the reservation.
struct HeadWriter {
    private let start: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0

    fileprivate init(start: UnsafeMutableRawPointer, capacity: Int) {
        self.start = start
        self.capacity = capacity
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= capacity - count, "a head outgrew the space reserved for it")
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        (start + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Writes a literal: its bytes are where the binary keeps them.
    mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Writes a `String`'s bytes. Not a `write(_:)` overload: a literal would pick it over the
    /// `StaticString` one and pay for a reference count and a contiguity check each time.
    mutating func write(string: String) {
        var string = string
        string.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    mutating func write(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { write($0) }
    }

    /// Writes `value` in decimal digits, `-` first when negative (a `Cache-Status` `ttl` of a stale response).
    mutating func write(decimal value: Int) {
        precondition(capacity - count >= 20, "a head outgrew the space reserved for it")
        var magnitude = value.magnitude
        if value < 0 {
            (start + count).storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
            count += 1
        }
        var length = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            length += 1
        }
        var index = count + length
        repeat {
            index -= 1
            (start + index).storeBytes(of: UInt8(ascii: "0") + UInt8(magnitude % 10), as: UInt8.self)
            magnitude /= 10
        } while magnitude > 0
        count += length
    }
}

extension ByteBuffer {
    /// Writes a head of at most `maximumLength` bytes with `body`.
    mutating func writeHead(maximumLength: Int, _ body: (inout HeadWriter) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: maximumLength) { memory in
            var writer = HeadWriter(start: memory.baseAddress!, capacity: memory.count)
            body(&writer)
            return writer.count
        }
    }
}
