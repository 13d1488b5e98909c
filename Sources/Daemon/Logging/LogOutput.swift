import Foundation
import Logging
import Synchronization

/// Where and how every logger of the process writes: the level and format from the file or the command line,
/// changed in place on reload.
final class LogOutput: Sendable {
    enum Format: String, Sendable {
        case text
        case json
    }

    private struct Settings {
        var level: Logger.Level
        var format: Format
    }

    private let settings: Mutex<Settings>
    private let stream: Mutex<Void>

    init(level: Logger.Level, format: Format) {
        settings = Mutex(Settings(level: level, format: format))
        stream = Mutex(())
    }

    var level: Logger.Level { settings.withLock { $0.level } }
    var format: Format { settings.withLock { $0.format } }

    func update(level: Logger.Level, format: Format) {
        settings.withLock { $0 = Settings(level: level, format: format) }
    }

    /// Writes one line to standard error; lines from different threads never interleave.
    func write(_ line: String) {
        stream.withLock { _ in
            var line = line
            line.append("\n")
            line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }
}
