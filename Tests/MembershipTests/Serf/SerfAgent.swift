import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real serf agent on 127.0.0.1 with ephemeral ports, for the tests that hand it bytes written here. serf
/// must be installed (`/usr/bin/serf`, Debian's `serf`); without it the tests fail, they do not skip.
final class SerfAgent {
    static let executable = "/usr/bin/serf"

    let name: String
    let bindPort: UInt16
    let rpcPort: UInt16
    private let process = Process()
    private let log: URL

    init(name: String, extraArguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw SerfAgentError("serf is not installed at \(Self.executable) (apt-get install serf)")
        }
        self.name = name
        bindPort = UInt16(try FreePort.tcpAndUDP())
        rpcPort = UInt16(try FreePort.tcp())
        log = FileManager.default.temporaryDirectory.appendingPathComponent("serf-\(name)-\(bindPort).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw SerfAgentError("cannot create \(log.path)")
        }
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [
            "agent", "-node=\(name)", "-bind=127.0.0.1:\(bindPort)", "-rpc-addr=127.0.0.1:\(rpcPort)",
            "-log-level=debug", "-tag", "role=serf-test",
        ] + extraArguments
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: log)
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// `serf members` as serf prints it.
    func members() throws -> String {
        let members = Process()
        members.executableURL = URL(fileURLWithPath: Self.executable)
        members.arguments = ["members", "-rpc-addr=127.0.0.1:\(rpcPort)"]
        let pipe = Pipe()
        members.standardOutput = pipe
        try members.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        members.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    /// Connects to the agent's memberlist TCP port, retrying while it starts.
    func connect() async throws -> TCPConnection {
        for _ in 0..<100 {
            if let connection = TCPConnection(port: bindPort) { return connection }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SerfAgentError("serf did not listen on 127.0.0.1:\(bindPort): \(logText)")
    }
}

struct SerfAgentError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A blocking loopback TCP connection, enough for a test's one exchange.
final class TCPConnection {
    private let fd: Int32

    init?(port: UInt16) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if !connected {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    /// Reads until `complete` accepts the bytes or the peer closes or times out.
    func receive(until complete: ([UInt8]) throws -> Bool) rethrows -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while try !complete(received) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received.append(contentsOf: chunk[0..<count])
        }
        return received
    }
}

/// A loopback UDP socket on an ephemeral port.
final class UDPSocket {
    private let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw SerfAgentError("cannot bind a UDP socket")
        }
        port = UInt16(bigEndian: address.sin_port)
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], to port: UInt16) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, socketAddress, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// One datagram, or nil after the receive timeout.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[0..<count]) : nil
    }
}
