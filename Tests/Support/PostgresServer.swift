import Foundation

/// A real PostgreSQL server for one test, as Debian installs it (`/usr/lib/postgresql/15/bin`): `initdb` into a
/// temporary directory and `postgres` on a free loopback port with its socket in that directory.
///
/// PostgreSQL refuses to run as root, and the tests run as root here and in CI, so the directory is handed to
/// `nobody` and both programs run as it through `setpriv`, which `exec`s the program (no child process between, so
/// the signal that stops the server reaches it). A missing binary fails the test with the path it looked for.
public final class PostgresServer: @unchecked Sendable {
    // @unchecked: `process` and `port` are set once in init and only read after.
    public static let bin = "/usr/lib/postgresql/15/bin"
    public let directory: URL
    public let port: Int
    private var process: Process

    struct Failure: Error, CustomStringConvertible { var description: String }

    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }

    public init() async throws {
        guard FileManager.default.isExecutableFile(atPath: "\(Self.bin)/initdb") else {
            throw Failure(description: "\(Self.bin)/initdb is missing: install Debian's postgresql-15")
        }
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("outrider-pg-XXXXXX").path.utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!).map { String(cString: $0) } }) else {
            throw Failure(description: "mkdtemp failed")
        }
        directory = URL(fileURLWithPath: created)
        let data = directory.appendingPathComponent("data").path
        try Self.runAsNobody(["chown", "-R", "nobody:nogroup", created], asRoot: true)
        try Self.runAsNobody(["\(Self.bin)/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        var lastError = ""
        for _ in 0..<5 {
            let port = try FreePort.tcp()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "\(Self.bin)/postgres", "-D", data, "-p", "\(port)",
                                 "-k", created, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let lines = LineReader(err.fileHandleForReading)
            if let line = await lines.first(where: { $0.contains("ready to accept connections") || $0.contains("could not bind") || $0.contains("FATAL") }),
               line.contains("ready to accept connections") {
                self.port = port
                self.process = process
                return
            }
            lastError = lines.seen.joined(separator: "\n")
            process.terminate()
            process.waitUntilExit()
        }
        throw Failure(description: "postgres did not start: \(lastError)")
    }

    /// Stops the server (fast shutdown) and removes its directory.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops the server without removing its data, for a restart on the same port.
    public func pause() {
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
    }

    /// Starts the paused server again, on its port.
    public func resume() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "\(Self.bin)/postgres", "-D", directory.appendingPathComponent("data").path,
                             "-p", "\(port)", "-k", directory.path, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let lines = LineReader(err.fileHandleForReading)
        guard await lines.first(where: { $0.contains("ready to accept connections") }) != nil else {
            throw Failure(description: "postgres did not restart: \(lines.seen.joined(separator: "\n"))")
        }
    }

    public static func runAsNobody(_ arguments: [String], asRoot: Bool = false) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: asRoot ? "/usr/bin/env" : "/usr/bin/setpriv")
        process.arguments = asRoot ? arguments : ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) failed: \(String(decoding: output, as: UTF8.self))")
        }
    }

}

/// Lines of a child's output, read on a thread of their own.
public final class LineReader: @unchecked Sendable {
    // @unchecked: every field is guarded by `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    private var ended = false

    public init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    lock.withLock { lines.append(line) }
                }
            }
            lock.withLock { ended = true }
        }
    }

    public var seen: [String] { lock.withLock { lines } }

    public func first(where matches: (String) -> Bool, timeout: Duration = .seconds(30)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (lines, ended) = lock.withLock { (self.lines, self.ended) }
            if let line = lines.first(where: matches) { return line }
            if ended { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
