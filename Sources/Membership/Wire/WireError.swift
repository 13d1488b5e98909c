/// Why bytes from the network could not be read as memberlist's (or serf's) wire format. Every decoder in this
/// folder either returns a value or throws one of these; none traps on any input.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes early while reading `what`.
    case truncated(what: String, needed: Int)
    /// A msgpack type byte that is not part of either msgpack spec (0xc1 is "never used").
    case invalidMessagePackByte(UInt8, offset: Int)
    /// Containers nested deeper than the reader's limit.
    case tooDeep(limit: Int)
    /// A declared length or count larger than a limit or than the bytes that remain.
    case tooLarge(what: String, length: Int, limit: Int)
    /// A field held a msgpack value of the wrong kind (or out of range) for its Go type.
    case wrongType(field: String, expected: String)
    /// A message type byte memberlist does not define, or one not allowed where it was found.
    case unknownMessageType(UInt8)
    /// Bytes left over after a value that must fill its input.
    case trailingBytes(Int)
    /// The has-CRC frame's checksum does not match its payload.
    case checksumMismatch(expected: UInt32, actual: UInt32)
    /// A compression algorithm other than LZW (memberlist's `lzwAlgo`, 0).
    case unknownCompression(UInt64)
    /// LZW data that Go's `compress/lzw` would refuse.
    case invalidLZW(String)
    /// An encrypted frame that no key of the ring opens, or of an unknown version.
    case decryptionFailed(String)
    /// A key of a length AES does not take (16, 24 or 32 bytes).
    case invalidKeyLength(Int)
    /// Anything else malformed, with the reason.
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated(let what, let needed): "truncated \(what): \(needed) more byte(s) needed"
        case .invalidMessagePackByte(let byte, let offset):
            "invalid msgpack type byte 0x\(String(byte, radix: 16)) at offset \(offset)"
        case .tooDeep(let limit): "msgpack nesting deeper than \(limit)"
        case .tooLarge(let what, let length, let limit): "\(what) of \(length) exceeds the limit of \(limit)"
        case .wrongType(let field, let expected): "field \(field): expected \(expected)"
        case .unknownMessageType(let type): "unknown message type \(type)"
        case .trailingBytes(let count): "\(count) unexpected trailing byte(s)"
        case .checksumMismatch(let expected, let actual):
            "CRC32 mismatch: packet says \(String(expected, radix: 16)), payload has \(String(actual, radix: 16))"
        case .unknownCompression(let algo): "unknown compression algorithm \(algo)"
        case .invalidLZW(let reason): "invalid LZW data: \(reason)"
        case .decryptionFailed(let reason): "decryption failed: \(reason)"
        case .invalidKeyLength(let length): "key of \(length) bytes: AES keys are 16, 24 or 32 bytes"
        case .malformed(let reason): reason
        }
    }
}
