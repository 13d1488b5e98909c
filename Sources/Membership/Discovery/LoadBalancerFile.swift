import Foundation

/// The file a generated load balancer configuration goes to, and the commands that check and load it: scrimplb's
/// generator, with the check it lacks. The file is written only when its text changes, atomically (a temporary file
/// renamed over it); when `check` fails the previous file is put back, so the load balancer never loads, and a
/// restart never finds, a configuration that did not pass.
public struct LoadBalancerFile: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The text was the file's already; nothing ran.
        case unchanged
        /// Written, checked and reloaded.
        case applied
        /// The file could not be written; the old one stays.
        case writeFailed(String)
        /// `check` failed with this output; the previous file is back.
        case checkFailed(String)
        /// Written and checked, but `reload` failed with this output.
        case reloadFailed(String)

        /// The one-word result for metrics and status.
        public var result: String {
            switch self {
            case .unchanged: "unchanged"
            case .applied: "applied"
            case .writeFailed: "write_failed"
            case .checkFailed: "check_failed"
            case .reloadFailed: "reload_failed"
            }
        }
    }

    public var target: String
    /// Run with the new file in place (`nginx -t`); empty: no check.
    public var check: [String]
    /// Run after a passing check (`nginx -s reload`); empty: none.
    public var reload: [String]

    public init(target: String, check: [String] = [], reload: [String] = []) {
        self.target = target
        self.check = check
        self.reload = reload
    }

    /// Puts `text` in the file if it differs, then checks and reloads.
    public func apply(_ text: String) async -> Outcome {
        let previous = FileManager.default.contents(atPath: target)
        let new = Data(text.utf8)
        if previous == new { return .unchanged }
        do {
            try Self.replace(target, with: new)
        } catch {
            return .writeFailed("\(target): \(error.localizedDescription)")
        }
        if !check.isEmpty {
            let checked = await Self.run(check)
            if checked.status != 0 {
                do {
                    if let previous { try Self.replace(target, with: previous) } else { try FileManager.default.removeItem(atPath: target) }
                } catch {
                    return .checkFailed("\(checked.output) (and the previous file could not be put back: \(error.localizedDescription))")
                }
                return .checkFailed(checked.output)
            }
        }
        if !reload.isEmpty {
            let reloaded = await Self.run(reload)
            if reloaded.status != 0 { return .reloadFailed(reloaded.output) }
        }
        return .applied
    }

    /// Writes a temporary file beside `path` and renames it over `path`: readers see the old file or the new one.
    static func replace(_ path: String, with data: Data) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        try data.write(to: temporary)
        do {
            if rename(temporary.path, path) != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Runs a command; returns its exit status and its output (standard output and error together, trimmed). A
    /// command that cannot be started has status 127, as a shell reports it. The wait happens on a dispatch thread,
    /// never on one of Swift's cooperative threads.
    static func run(_ command: [String]) async -> (status: Int32, output: String) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
                process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = pipe
                process.standardInput = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(returning: (127, "\(command[0]): \(error.localizedDescription)"))
                    return
                }
                // Read to the end before waiting, so a command with much to say cannot block on a full pipe.
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let output = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                continuation.resume(returning: (process.terminationStatus, output))
            }
        }
    }
}
