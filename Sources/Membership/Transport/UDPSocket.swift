#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The sending side of the member's UDP socket: a duplicate of the descriptor NIO reads from, written with
/// non-blocking `sendto` on the node's event loop.
///
/// SwiftNIO's datagram channel closes itself on any write error but EMSGSIZE and EHOSTUNREACH
/// (`PendingDatagramWritesManager`), so one EPERM from a local firewall rule, ENOBUFS or ENETUNREACH would cost
/// the socket and every datagram queued behind the failed one. memberlist logs a failed `WriteTo` and goes on
/// with the same socket (`net_transport.go`, `WriteToAddress`); so does this: the socket is bound here and handed
/// to NIO for reading only (`DatagramBootstrap.withBoundSocket`), and every send reports its own error. A full
/// send buffer (EAGAIN, ENOBUFS) drops the datagram, as the kernel drops one for a full queue.
///
/// A value type: the descriptor is an integer and `sendto` on it is safe from any thread; the owner closes it
/// once (``close()``), after the reading channel, so no send races the descriptor's reuse.
struct UDPSocket: Sendable {
    let descriptor: CInt
    /// `AF_INET` or `AF_INET6`; an IPv6 socket reaches IPv4 peers through IPv4-mapped addresses (Linux's
    /// `IPV6_V6ONLY` is off by default, as Go's dual-stack `udp` listener on `[::]` relies on).
    let family: CInt

    /// A new socket bound to `host:port` (port 0: the system picks one), non-blocking and close-on-exec; the
    /// caller hands its descriptor to NIO, which owns and closes it from then on.
    static func bound(host: String, port: Int) throws -> UDPSocket {
        let address = try SocketAddress(ipAddress: host, port: port)
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        default: throw IOError(errnoCode: EAFNOSUPPORT, reason: "gossip UDP bind: \(host) is not an IP address")
        }
        #if canImport(Glibc)
        let type = CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_DGRAM
        #endif
        let descriptor = socket(family, type, 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        #if !canImport(Glibc)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        #endif
        let result = address.withSockAddr { pointer, length in
            bind(descriptor, pointer, socklen_t(length))
        }
        guard result == 0 else {
            let code = errno
            closeDescriptor(descriptor)
            throw IOError(errnoCode: code, reason: "bind \(host):\(port)")
        }
        return UDPSocket(descriptor: descriptor, family: family)
    }

    /// A duplicate of this socket's descriptor (same socket, same port, same non-blocking flag), for sending
    /// beside the channel that reads from the original.
    func duplicate() throws -> UDPSocket {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw IOError(errnoCode: errno, reason: "dup") }
        return UDPSocket(descriptor: copy, family: family)
    }

    /// Sends one datagram; nil when the kernel took it, else the errno of the failed `sendto` (the datagram is
    /// lost, the socket stays open).
    func send(_ bytes: [UInt8], to remote: SocketAddress) -> CInt? {
        let target: SocketAddress
        switch (family, remote) {
        case (AF_INET6, .v4):
            // An IPv4 peer from a dual-stack socket: its IPv4-mapped IPv6 address.
            guard let host = remote.ipAddress, let mapped = try? SocketAddress(ipAddress: "::ffff:" + host, port: remote.port ?? 0) else { return EAFNOSUPPORT }
            target = mapped
        case (AF_INET, .v6):
            return EAFNOSUPPORT
        default:
            target = remote
        }
        while true {
            let sent = bytes.withUnsafeBytes { buffer in
                target.withSockAddr { pointer, length in
                    sendto(descriptor, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT), pointer, socklen_t(length))
                }
            }
            if sent >= 0 { return nil }
            let code = errno
            if code == EINTR { continue }
            return code
        }
    }

    func close() {
        closeDescriptor(descriptor)
    }

    /// An errno for a log line (`errno 1: Operation not permitted`).
    static func describe(_ code: CInt) -> String {
        let text = String(cString: strerror(code))
        return "errno \(code): \(text)"
    }
}

private func closeDescriptor(_ descriptor: CInt) {
    #if canImport(Glibc)
    _ = Glibc.close(descriptor)
    #else
    _ = Darwin.close(descriptor)
    #endif
}
