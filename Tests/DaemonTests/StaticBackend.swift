import TestSupport
import Foundation

/// A real HTTP backend on loopback: Python's `http.server` serving a directory, on a port the system picks as it
/// binds. The server prints `Serving HTTP on 127.0.0.1 port PORT ...` once it listens, which tells the port and
/// that connections are accepted from then on. Killed with the value.
final class StaticBackend {
    struct UnexpectedOutput: Error, CustomStringConvertible {
        var line: String
        var description: String { "no port in http.server's line '\(line)'" }
    }

    let port: Int
    private let process: Process

    init(serving directory: URL) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // -u: the line is wanted when printed, not when a buffer fills.
        process.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.runUnmasked()
        do {
            let line = try await OutputLines(reading: out.fileHandleForReading).first(containing: "Serving HTTP on 127.0.0.1 port ")
            guard let range = line.range(of: " port "), let port = Int(line[range.upperBound...].prefix { $0.isNumber }) else {
                throw UnexpectedOutput(line: line)
            }
            self.port = port
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        self.process = process
    }

    /// SIGKILL, as a host that dies: connections to it are refused or reset from then on. A static file server has
    /// nothing to finish; SIGKILL cannot be blocked or ignored, so this cannot hang.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
