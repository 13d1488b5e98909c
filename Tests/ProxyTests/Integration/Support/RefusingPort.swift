#if canImport(Glibc)
import Glibc
#endif

/// Keeps a loopback port refusing connections: a socket bound to it that never listens, so a
/// connection to it is reset and no other test's listener can take the port over (the
/// listeners set `SO_REUSEADDR`, which does not share a port bound without it).
final class RefusingPort {
    private let descriptor: Int32

    /// Holds `port` on 127.0.0.1, typically one a stopped test backend just released.
    init(_ port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, bound == 0 else {
            close(descriptor)
            throw PortInUse(port: port)
        }
    }

    deinit {
        close(descriptor)
    }

    struct PortInUse: Error {
        var port: Int
    }
}
