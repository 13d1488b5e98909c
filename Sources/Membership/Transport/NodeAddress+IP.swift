#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension NodeAddress {
    /// The address from memberlist's `Addr` bytes (`net.IP`: 4 bytes for IPv4, 16 for IPv6); nil for any other
    /// length or a port out of range.
    public init?(ipBytes bytes: [UInt8], port: UInt16) {
        switch bytes.count {
        case 4:
            self.init(host: bytes.map(String.init).joined(separator: "."), port: Int(port))
        case 16:
            if bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
                self.init(host: bytes.suffix(4).map(String.init).joined(separator: "."), port: Int(port))
                return
            }
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return nil }
            self.init(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(port))
        default:
            return nil
        }
    }

    /// The host as memberlist's `Addr` bytes; empty when the host is not an IP literal.
    public var ipBytes: [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return []
    }
}
