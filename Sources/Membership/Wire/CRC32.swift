/// CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320), Go's `crc32.ChecksumIEEE`, which memberlist puts in
/// front of packets for peers speaking protocol version 5 (memberlist `net.go`, `hasCrcMsg`).
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xedb8_8320 : value >> 1 }
        return value
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xffff_ffff
    }
}
