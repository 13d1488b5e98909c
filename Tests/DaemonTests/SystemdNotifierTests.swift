#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

@testable import Daemon

/// Runs the notifier against a real `AF_UNIX` datagram socket, as systemd's notify socket is.
@Suite struct SystemdNotifierTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "outrider-notify-")
    }

    @Test(arguments: [
        [:],
        ["NOTIFY_SOCKET": ""],
        ["NOTIFY_SOCKET": "relative/notify"],
        ["NOTIFY_SOCKET": "@"],
        ["NOTIFY_SOCKET": "vsock:2:1234"],
        ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)],
    ] as [[String: String]])
    func noNotifierWithoutSocket(_ environment: [String: String]) {
        #expect(SystemdNotifier.fromEnvironment(environment) == nil)
    }

    @Test func readyOnPathSocket() throws {
        let receiver = try DatagramReceiver(name: directory.path("notify"))
        defer { receiver.close() }
        let notifier = try #require(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": receiver.name]))

        #expect(notifier.ready())
        #expect(try receiver.receive() == "READY=1")
    }

    @Test func abstractSocket() throws {
        // The abstract namespace is shared by every process in the network namespace: the name carries this process
        // and a random part.
        let receiver = try DatagramReceiver(name: "@outrider-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { receiver.close() }
        let notifier = try #require(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": receiver.name]))

        #expect(notifier.stopping())
        #expect(try receiver.receive() == "STOPPING=1")
    }

    @Test func reloadingCarriesMonotonicTimestamp() throws {
        let receiver = try DatagramReceiver(name: directory.path("notify"))
        defer { receiver.close() }
        let notifier = try #require(SystemdNotifier(socketName: receiver.name))

        #expect(notifier.reloading(monotonicMicroseconds: 1_234_567))
        #expect(try receiver.receive() == "RELOADING=1\nMONOTONIC_USEC=1234567")

        let before = SystemdNotifier.monotonicMicroseconds()
        #expect(notifier.reloading())
        let message = try receiver.receive()
        let lines = message.split(separator: "\n")
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        #expect(stamp >= before)
        #expect(stamp <= SystemdNotifier.monotonicMicroseconds())
    }

    @Test func statusStaysOneLine() throws {
        let receiver = try DatagramReceiver(name: directory.path("notify"))
        defer { receiver.close() }
        let notifier = try #require(SystemdNotifier(socketName: receiver.name))

        #expect(notifier.status("3 roles\nproxy up"))
        #expect(try receiver.receive() == "STATUS=3 roles proxy up")
    }

    @Test func sendFailsWhenNobodyListens() throws {
        let notifier = try #require(SystemdNotifier(socketName: directory.path("gone")))
        #expect(!notifier.ready())
    }
}

/// A bound `AF_UNIX` datagram socket standing in for systemd's notify socket.
private struct DatagramReceiver {
    struct Failure: Error, CustomStringConvertible {
        let call: String
        let code: Int32
        var description: String { "\(call) failed: \(String(cString: strerror(code)))" }
    }

    let name: String
    private let fd: Int32

    init(name: String) throws {
        self.name = name
        #if os(Linux)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }

        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path.copyBytes(from: bytes)
            if abstract { path[0] = 0 }
        }
        let length = socklen_t(
            MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1)
        )
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            closeSocket(fd)
            throw Failure(call: "bind", code: code)
        }
    }

    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw Failure(call: "recv", code: errno) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    func close() {
        closeSocket(fd)
    }
}

private func closeSocket(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #elseif canImport(Musl)
    _ = Musl.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
