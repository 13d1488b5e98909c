/// RFC 4648 section 4 base64 with padding, for metadata carried in `x-amz-meta-*` header fields (S3 keeps
/// header metadata US-ASCII). Decoding takes any string and answers nil unless it is canonical base64.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let value = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(value >> 6 & 63)])
            out.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(value & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        func value(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): 62
            case UInt8(ascii: "/"): 63
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3)
        var index = 0
        while index < bytes.count {
            let isLast = index + 4 == bytes.count
            let padding = isLast ? (bytes[index + 3] == UInt8(ascii: "=") ? (bytes[index + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            guard let a = value(bytes[index]), let b = value(bytes[index + 1]) else { return nil }
            let c = padding >= 2 ? 0 : value(bytes[index + 2])
            let d = padding >= 1 ? 0 : value(bytes[index + 3])
            guard let c, let d else { return nil }
            let combined = a << 18 | b << 12 | c << 6 | d
            // Canonical: the bits a padded group drops are zero.
            if padding == 2, combined & 0xFFFF != 0 { return nil }
            if padding == 1, combined & 0xFF != 0 { return nil }
            out.append(UInt8(combined >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(combined >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(combined & 0xFF)) }
            index += 4
        }
        return out
    }
}
