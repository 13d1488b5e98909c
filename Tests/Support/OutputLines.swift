import Foundation
import Synchronization

/// The lines a child process writes to one of its pipes, collected as they arrive by a thread of their own, so
/// that a test can wait for the line that tells it what the child bound or did.
public final class OutputLines: Sendable {
    private let lines = Mutex<[String]>([])
    /// Whether the pipe has been closed: the child exited, and no further line can come.
    private let ended = Mutex(false)

    /// Starts reading `handle` until its end.
    public init(reading handle: FileHandle) {
        let thread = Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.withLock { $0.append(line) }
                }
            }
            ended.withLock { $0 = true }
        }
        thread.start()
    }

    public var all: [String] { lines.withLock { $0 } }

    /// Waits for a line containing `text` and returns it; fails at once when the pipe ends without one.
    public func first(containing text: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            // Read before the lines, so that a line written just before the end is not missed.
            let over = ended.withLock { $0 }
            if let line = all.first(where: { $0.contains(text) }) { return line }
            guard !over else {
                throw TimedOut(what: "the output ended without a line containing '\(text)':\n\(all.joined(separator: "\n"))")
            }
            guard ContinuousClock.now < deadline else {
                throw TimedOut(what: "no line containing '\(text)' within \(timeout); output so far:\n\(all.joined(separator: "\n"))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the pipe to end: once the child has exited, for the lines it wrote last to be read.
    public func end(timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !ended.withLock({ $0 }) {
            guard ContinuousClock.now < deadline else { throw TimedOut(what: "the output did not end within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A wait in a test that ended without what it waited for, because time ran out or the child's output ended: a
/// failure, never a skip.
public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { what }

    public init(what: String) { self.what = what }
}
