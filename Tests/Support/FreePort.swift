import Glibc

/// Ports for servers that must be given their port before they start (nginx, serf, PostgreSQL, seaweedfs, a listen
/// port a backend announces), kept from the tests running beside them.
///
/// A port found by binding port 0 and closing at once is free for anyone: another test's port-0 listener may be given
/// it the next moment, and then the server meant for it cannot bind, or a test that expects the port closed finds
/// someone else's listener there. So the port is left in TIME_WAIT instead: a listener on it accepts one connection,
/// the accepted end closes first. For the next 60 s the kernel chooses it for no port-0 bind and no outgoing
/// connection, while a server that binds it explicitly with `SO_REUSEADDR` (nginx, PostgreSQL, Go's and SwiftNIO's
/// TCP listeners all set it) binds it at once.
public enum FreePort {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A TCP port on `address`, `127.0.0.1` or `0.0.0.0` (for a server that listens on every address).
    public static func tcp(on address: String = "127.0.0.1") throws -> Int {
        let listener = try socket(SOCK_STREAM)
        defer { close(listener) }
        var on: Int32 = 1
        guard setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw Failure(description: "SO_REUSEADDR: errno \(errno)")
        }
        let port = try bind(listener, address: address, port: 0)
        guard listen(listener, 1) == 0 else { throw Failure(description: "listen on port \(port): errno \(errno)") }
        let client = try socket(SOCK_STREAM)
        defer { close(client) }
        var target = sockaddr_in(address: "127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        let accepted = accept(listener, nil, nil)
        guard accepted >= 0 else { throw Failure(description: "accept on port \(port): errno \(errno)") }
        // The end that closes first waits in TIME_WAIT, holding the port.
        close(accepted)
        return port
    }

    /// A port free for both TCP and UDP on `127.0.0.1` (a serf agent or a gossip member binds both): TCP kept as
    /// ``tcp(on:)`` keeps it, UDP free when this returns.
    public static func tcpAndUDP() throws -> Int {
        for _ in 0..<20 {
            let port = try tcp()
            let datagram = try socket(SOCK_DGRAM)
            defer { close(datagram) }
            if (try? bind(datagram, address: "127.0.0.1", port: port)) != nil { return port }
        }
        throw Failure(description: "no port free for both TCP and UDP in 20 tries")
    }

    private static func socket(_ type: __socket_type) throws -> Int32 {
        let descriptor = Glibc.socket(AF_INET, Int32(type.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        return descriptor
    }

    /// Binds `descriptor` to `address`:`port` and returns the port bound.
    private static func bind(_ descriptor: Int32, address: String, port: Int) throws -> Int {
        var bound = sockaddr_in(address: address, port: port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let done = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard done else { throw Failure(description: "bind to \(address):\(port): errno \(errno)") }
        return Int(UInt16(bigEndian: bound.sin_port))
    }
}

extension sockaddr_in {
    fileprivate init(address: String, port: Int) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_addr.s_addr = inet_addr(address)
        sin_port = UInt16(port).bigEndian
    }
}
