/// The percent-encoding of AWS Signature Version 4 ("UriEncode" in the AWS SigV4 documentation, "Create a
/// canonical request"): every byte of the UTF-8 form except the unreserved characters of RFC 3986 section 2.3
/// (`A-Z a-z 0-9 - . _ ~`) becomes `%XY` with upper-case hex digits; `/` is kept in paths (S3 object key
/// names) and encoded in query names and values. Spaces are `%20`, never `+`.
///
/// S3 differs from the other services in two ways that this encoding leaves to its callers: the path is
/// encoded once (the others encode the already encoded path a second time) and never normalised.
public enum SigV4Encoding {
    /// RFC 3986 section 2.3 unreserved characters.
    @inlinable
    public static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `bytes` percent-encoded; `/` kept when `keepingSlash` (paths), encoded otherwise (query parts).
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes, keepingSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 3)
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func encode(_ string: some StringProtocol, keepingSlash: Bool) -> String {
        encode(string.utf8, keepingSlash: keepingSlash)
    }

    /// The bytes of `string` with each `%XY` (hex digits of either case) decoded; a `%` not followed by two hex
    /// digits stays as it is, as in the WHATWG URL percent-decode. `+` stays `+`: SigV4 query strings are not
    /// form-encoded.
    public static func decode(_ string: some StringProtocol) -> [UInt8] {
        let bytes = Array(string.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
