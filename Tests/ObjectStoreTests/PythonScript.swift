import Foundation

/// Runs one of the Python scripts in `Support/` with `python3`, input on stdin, and returns its stdout; fails
/// with the script's stderr when it exits non-zero (a missing `python3`, `boto3` or `moto` says so there).
enum PythonScript {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support")

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func python() throws -> String {
        for candidate in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(candidate)/python3"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Failure(description: "python3 not found on PATH (the S3 tests need python3 with boto3 and moto[s3]; CI installs them in .ci/run)")
    }

    static func run(_ script: String, input: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = [directory.appendingPathComponent(script).path]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(script) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return output
    }
}
