import TestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `outrider` binary run as a child process, as an operator or systemd would run it.
final class DaemonProcess {
    let process: Process
    private let stderrLines: OutputLines

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
        try process.runUnmasked()
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
        try process.runUnmasked()
        stderrLines = OutputLines(reading: err.fileHandleForReading)
    }

    var stderr: [String] { stderrLines.all }

    /// Waits for a standard error line containing `text` and returns it.
    func waitForLine(containing text: String, timeout: Duration = .seconds(10)) async throws -> String {
        try await stderrLines.first(containing: text, timeout: timeout)
    }

    /// The port of the first loopback address in a log line, text or JSON: `admin=127.0.0.1:PORT` in the start
    /// line, `address=[IPv4]127.0.0.1/127.0.0.1:PORT` in the proxy's `proxy listening` line. The tests configure
    /// every listener on port 0, so that the system picks a free port as it binds (no other process can take it
    /// in between, as one could a port found free beforehand); these lines are where the daemon tells which.
    static func loopbackPort(in line: String) -> Int? {
        guard let range = line.range(of: "127.0.0.1:") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status, with ``stderr`` complete.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw TimedOut(what: "outrider did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await stderrLines.end()
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

/// Plain HTTP GETs to the admin listener, or through the proxy.
enum AdminClient {
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

/// Polls `condition` until it holds: for what the daemon does in its own time, such as a health check turning a
/// backend down, where no line or reply says when it has happened.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "condition not met within \(timeout)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

