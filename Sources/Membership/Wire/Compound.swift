/// Several messages in one packet (memberlist `util.go`, `makeCompoundMessage` / `decodeCompoundMessage`): a
/// count byte, a big-endian 16-bit length per part, then the parts. At most 255 parts fit; a sender splits more
/// into several compounds (`makeCompoundMessages`).
///
/// A packet whose lengths run past its end is not an error in memberlist: the parts that fit are handled and the
/// rest are counted as truncated (and logged), which ``truncated`` keeps.
public struct Compound: Sendable, Equatable {
    public static let maximumParts = 255

    public var parts: [[UInt8]]
    /// How many declared parts did not fit in the packet.
    public var truncated: Int

    public init(parts: [[UInt8]], truncated: Int = 0) {
        self.parts = parts
        self.truncated = truncated
    }

    /// Reads the body after the type byte.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard let count = bytes.first.map(Int.init) else { throw .truncated(what: "compound part count", needed: 1) }
        guard bytes.count >= 1 + count * 2 else {
            throw .truncated(what: "compound length table", needed: 1 + count * 2 - bytes.count)
        }
        var parts: [[UInt8]] = []
        var offset = 1 + count * 2
        for index in 0..<count {
            let length = Int(bytes[1 + index * 2]) << 8 | Int(bytes[2 + index * 2])
            guard bytes.count - offset >= length else {
                self.init(parts: parts, truncated: count - index)
                return
            }
            parts.append(Array(bytes[offset..<offset + length]))
            offset += length
        }
        self.init(parts: parts)
    }

    /// Packs `messages` into as few compounds as memberlist would (255 parts each), each an encoded packet.
    /// A part longer than 65,535 bytes cannot be framed and is left to the caller (memberlist never builds one:
    /// its parts come from UDP-sized broadcasts).
    public static func packets(_ messages: [[UInt8]]) -> [[UInt8]] {
        stride(from: 0, to: messages.count, by: maximumParts).map { start in
            Message.compound(Compound(parts: Array(messages[start..<min(start + maximumParts, messages.count)])))
                .encoded()
        }
    }

    public func write(to writer: inout MessagePackWriter) {
        let framed = parts.prefix(Self.maximumParts)
        writer.append(contentsOf: [UInt8(framed.count)])
        for part in framed {
            let length = min(part.count, Int(UInt16.max))
            writer.append(contentsOf: [UInt8(length >> 8), UInt8(length & 0xff)])
        }
        for part in framed { writer.append(contentsOf: part.prefix(Int(UInt16.max))) }
    }
}
