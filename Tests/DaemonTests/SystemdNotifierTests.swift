#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import XCTest

@testable import Daemon

/// Runs the notifier against a real `AF_UNIX` datagram socket, as systemd's notify socket is.
final class SystemdNotifierTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("outrider-notify-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testNoNotifierWithoutSocket() {
        XCTAssertNil(SystemdNotifier.fromEnvironment([:]))
        XCTAssertNil(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": ""]))
        XCTAssertNil(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "relative/notify"]))
        XCTAssertNil(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "@"]))
        XCTAssertNil(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "vsock:2:1234"]))
        XCTAssertNil(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)]))
    }

    func testReadyOnPathSocket() throws {
        let receiver = try DatagramReceiver(name: directory.appendingPathComponent("notify").path)
        defer { receiver.close() }
        let notifier = try XCTUnwrap(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": receiver.name]))

        XCTAssertTrue(notifier.ready())
        XCTAssertEqual(try receiver.receive(), "READY=1")
    }

    func testAbstractSocket() throws {
        let receiver = try DatagramReceiver(name: "@outrider-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { receiver.close() }
        let notifier = try XCTUnwrap(SystemdNotifier.fromEnvironment(["NOTIFY_SOCKET": receiver.name]))

        XCTAssertTrue(notifier.stopping())
        XCTAssertEqual(try receiver.receive(), "STOPPING=1")
    }

    func testReloadingCarriesMonotonicTimestamp() throws {
        let receiver = try DatagramReceiver(name: directory.appendingPathComponent("notify").path)
        defer { receiver.close() }
        let notifier = try XCTUnwrap(SystemdNotifier(socketName: receiver.name))

        XCTAssertTrue(notifier.reloading(monotonicMicroseconds: 1_234_567))
        XCTAssertEqual(try receiver.receive(), "RELOADING=1\nMONOTONIC_USEC=1234567")

        let before = SystemdNotifier.monotonicMicroseconds()
        XCTAssertTrue(notifier.reloading())
        let message = try receiver.receive()
        let lines = message.split(separator: "\n")
        XCTAssertEqual(lines.first, "RELOADING=1")
        let stamp = try XCTUnwrap(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        XCTAssertGreaterThanOrEqual(stamp, before)
        XCTAssertLessThanOrEqual(stamp, SystemdNotifier.monotonicMicroseconds())
    }

    func testStatusStaysOneLine() throws {
        let receiver = try DatagramReceiver(name: directory.appendingPathComponent("notify").path)
        defer { receiver.close() }
        let notifier = try XCTUnwrap(SystemdNotifier(socketName: receiver.name))

        XCTAssertTrue(notifier.status("3 roles\nproxy up"))
        XCTAssertEqual(try receiver.receive(), "STATUS=3 roles proxy up")
    }

    func testSendFailsWhenNobodyListens() throws {
        let notifier = try XCTUnwrap(SystemdNotifier(socketName: directory.appendingPathComponent("gone").path))
        XCTAssertFalse(notifier.ready())
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
