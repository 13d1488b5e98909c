/// Reads msgpack values one after another from bytes received from the network.
///
/// It takes both specs, as go-msgpack's decoder does (hashicorp/go-msgpack `codec/msgpack.go`): the old raw
/// family (0xa0–0xbf, 0xda, 0xdb) and the new str8 0xd9 and bin8/16/32 0xc4–0xc6 all read as
/// ``MessagePackValue/raw(_:)``. It never traps and never allocates more than the input holds: every length and
/// count is checked against the bytes that remain (each array element or map entry needs at least one byte per
/// value; a count past the end is reported as truncation, so that a stream reader can wait for more bytes),
/// and containers nest at most ``maximumDepth`` deep.
public struct MessagePackReader: Sendable {
    /// The default nesting limit: memberlist's messages nest two deep, serf's push-pull four.
    public static let defaultMaximumDepth = 32

    public let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var position: Int
    public let maximumDepth: Int

    public init(_ bytes: [UInt8], position: Int = 0, maximumDepth: Int = MessagePackReader.defaultMaximumDepth) {
        self.bytes = bytes
        self.position = min(max(0, position), bytes.count)
        self.maximumDepth = maximumDepth
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    /// The bytes after the values read so far (the raw user state that follows a push-pull's msgpack values).
    public mutating func readRawBytes(_ count: Int, what: String) throws(WireError) -> [UInt8] {
        guard count >= 0 else { throw .malformed("negative length for \(what)") }
        guard count <= remaining else { throw .truncated(what: what, needed: count - remaining) }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// Decodes one whole input as a single value: trailing bytes are an error.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> MessagePackValue {
        var reader = MessagePackReader(bytes)
        let value = try reader.read()
        guard reader.isAtEnd else { throw .trailingBytes(reader.remaining) }
        return value
    }

    public mutating func read() throws(WireError) -> MessagePackValue {
        try read(depth: 0)
    }

    private mutating func read(depth: Int) throws(WireError) -> MessagePackValue {
        let offset = position
        let marker = try byte()
        switch marker {
        case 0x00...0x7f: return .uint(UInt64(marker))
        case 0x80...0x8f: return try readMap(count: Int(marker & 0x0f), depth: depth)
        case 0x90...0x9f: return try readArray(count: Int(marker & 0x0f), depth: depth)
        case 0xa0...0xbf: return .raw(try readRawBytes(Int(marker & 0x1f), what: "msgpack raw"))
        case 0xc0: return .nil
        case 0xc2: return .bool(false)
        case 0xc3: return .bool(true)
        case 0xc4, 0xd9: return .raw(try readRawBytes(Int(try bigEndian(1)), what: "msgpack raw"))
        case 0xc5, 0xda: return .raw(try readRawBytes(Int(try bigEndian(2)), what: "msgpack raw"))
        case 0xc6, 0xdb: return .raw(try readRawBytes(Int(try bigEndian(4)), what: "msgpack raw"))
        case 0xc7: return try readExt(length: Int(try bigEndian(1)))
        case 0xc8: return try readExt(length: Int(try bigEndian(2)))
        case 0xc9: return try readExt(length: Int(try bigEndian(4)))
        case 0xca: return .float(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case 0xcb: return .float(Double(bitPattern: try bigEndian(8)))
        case 0xcc: return .uint(try bigEndian(1))
        case 0xcd: return .uint(try bigEndian(2))
        case 0xce: return .uint(try bigEndian(4))
        case 0xcf: return .uint(try bigEndian(8))
        case 0xd0: return .int(Int64(Int8(truncatingIfNeeded: try bigEndian(1))))
        case 0xd1: return .int(Int64(Int16(truncatingIfNeeded: try bigEndian(2))))
        case 0xd2: return .int(Int64(Int32(truncatingIfNeeded: try bigEndian(4))))
        case 0xd3: return .int(Int64(bitPattern: try bigEndian(8)))
        case 0xd4: return try readExt(length: 1)
        case 0xd5: return try readExt(length: 2)
        case 0xd6: return try readExt(length: 4)
        case 0xd7: return try readExt(length: 8)
        case 0xd8: return try readExt(length: 16)
        case 0xdc: return try readArray(count: Int(try bigEndian(2)), depth: depth)
        case 0xdd: return try readArray(count: Int(try bigEndian(4)), depth: depth)
        case 0xde: return try readMap(count: Int(try bigEndian(2)), depth: depth)
        case 0xdf: return try readMap(count: Int(try bigEndian(4)), depth: depth)
        case 0xe0...0xff: return .int(Int64(Int8(bitPattern: marker)))
        default: throw .invalidMessagePackByte(marker, offset: offset)
        }
    }

    private mutating func readArray(count: Int, depth: Int) throws(WireError) -> MessagePackValue {
        guard depth < maximumDepth else { throw .tooDeep(limit: maximumDepth) }
        guard count <= remaining else { throw .truncated(what: "msgpack array", needed: count - remaining) }
        var elements: [MessagePackValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try read(depth: depth + 1)) }
        return .array(elements)
    }

    private mutating func readMap(count: Int, depth: Int) throws(WireError) -> MessagePackValue {
        guard depth < maximumDepth else { throw .tooDeep(limit: maximumDepth) }
        guard count <= remaining / 2 else { throw .truncated(what: "msgpack map", needed: count * 2 - remaining) }
        var pairs: [MessagePackPair] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count {
            let key = try read(depth: depth + 1)
            pairs.append(MessagePackPair(key, try read(depth: depth + 1)))
        }
        return .map(pairs)
    }

    private mutating func readExt(length: Int) throws(WireError) -> MessagePackValue {
        let type = Int8(bitPattern: try byte())
        return .ext(type: type, data: try readRawBytes(length, what: "msgpack ext"))
    }

    private mutating func byte() throws(WireError) -> UInt8 {
        guard position < bytes.count else { throw .truncated(what: "msgpack value", needed: 1) }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func bigEndian(_ size: Int) throws(WireError) -> UInt64 {
        guard size <= remaining else { throw .truncated(what: "msgpack length or number", needed: size - remaining) }
        var number: UInt64 = 0
        for index in position..<position + size { number = number << 8 | UInt64(bytes[index]) }
        position += size
        return number
    }
}
