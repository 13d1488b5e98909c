import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import XCTest

/// The built `outrider` binary run as a child process, as an operator or systemd would run it.
final class DaemonProcess {
    let process: Process
    private let stderrLines = Lines()
    private let reader: Thread

    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    static var binary: URL {
        // The test bundle is in the build products folder (or is it, on Linux), next to `outrider`.
        let bundle = Bundle(for: DaemonProcess.self).bundleURL
        let candidates = [bundle.appendingPathComponent("outrider"), bundle.deletingLastPathComponent().appendingPathComponent("outrider")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    /// Runs `outrider` with `arguments` to completion: exit code, standard output and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        let handle = err.fileHandleForReading
        let lines = stderrLines
        reader = Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.append(line)
                }
            }
        }
        try process.run()
        reader.start()
    }

    var stderr: [String] { stderrLines.all }

    /// Waits for a standard error line containing `text` and returns it.
    func waitForLine(containing text: String, timeout: TimeInterval = 10) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = stderr.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning, let line = stderr.first(where: { $0.contains(text) }) { return line }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw TimedOut(what: "no line containing '\(text)' within \(timeout)s; stderr so far:\n\(stderr.joined(separator: "\n"))")
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: TimeInterval = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            guard Date() < deadline else {
                process.terminate()
                throw TimedOut(what: "outrider did not exit within \(timeout)s")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A loopback TCP port that this process holds bound and listening, for tests of an address in use.
final class BlockedPort {
    let port: Int
    private let fd: Int32

    init() {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { [fd] in
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                bind(fd, pointer, length)
                listen(fd, 1)
                return getsockname(fd, pointer, &length)
            }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// Plain HTTP GETs to the admin listener.
enum AdminClient {
    static func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let semaphore = DispatchSemaphore(value: 0)
        let result = Mutex<(Int, String)?>(nil)
        let task = URLSession.shared.dataTask(with: url) { data, response, _ in
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            result.withLock { $0 = (status, String(decoding: data ?? Data(), as: UTF8.self)) }
            semaphore.signal()
        }
        task.resume()
        guard semaphore.wait(timeout: .now() + 10) == .success, let value = result.withLock({ $0 }) else {
            throw URLError(.timedOut)
        }
        return value
    }
}

/// A wait in a test that ran out of time: a failure, never a skip.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}
