/// A compressed message (memberlist `net.go`, `compress`; `util.go`, `compressPayload`): `Algo` (0, LZW, the
/// only one) and `Buf`, the LZW stream of a whole message including its type byte.
public struct Compress: MessageBody {
    public static let goName = "compress"
    /// memberlist `net.go`, `lzwAlgo`.
    public static let lzw: UInt8 = 0

    public var algorithm: UInt8
    public var buffer: [UInt8]

    public init(algorithm: UInt8 = Compress.lzw, buffer: [UInt8]) {
        self.algorithm = algorithm
        self.buffer = buffer
    }

    public init(fields: MessagePackFields) throws(WireError) {
        let algorithm: UInt64 = try fields.unsigned("Algo")
        guard algorithm == UInt64(Self.lzw) else { throw .unknownCompression(algorithm) }
        self.algorithm = UInt8(algorithm)
        buffer = try fields.bytes("Buf")
    }

    public func write(to writer: inout MessagePackWriter) {
        writer.writeMapHeader(2)
        writer.writeField("Algo")
        writer.writeUInt(UInt64(algorithm))
        writer.writeField("Buf")
        writer.writeByteSlice(buffer)
    }
}

extension Compress {
    /// The message inside (memberlist `util.go`, `decompressBuffer`, at most `maxDecompressedBytes`).
    public func decompressed(maximumOutput: Int = LZW.defaultMaximumOutput) throws(WireError) -> [UInt8] {
        try LZW.decompress(buffer, maximumOutput: maximumOutput)
    }
}
