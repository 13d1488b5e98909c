import Foundation
import Logging
import Plugins

/// A swift-log handler writing one line per message to standard error, as text or JSON.
///
/// Text lines read `2026-11-21T09:50:00.123Z info outrider.proxy: message key=value`; JSON lines carry the
/// same fields as `time`, `level`, `logger`, `message` and the metadata, for journald and log shippers.
struct OutriderLogHandler: LogHandler {
    let label: String
    let output: LogOutput
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// A level set on one logger (by a test, say) wins over the process-wide one.
    private var ownLevel: Logger.Level?

    init(label: String, output: LogOutput) {
        self.label = label
        self.output = output
    }

    var logLevel: Logger.Level {
        get { ownLevel ?? output.level }
        set { ownLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let time = Self.timestamp()
        switch output.format {
        case .text:
            var line = "\(time) \(event.level) \(label): \(event.message)"
            for key in merged.keys.sorted() {
                line += " \(key)=\(Self.textValue(merged[key]!))"
            }
            output.write(line)
        case .json:
            var line = "{\"time\":\(Self.json(time)),\"level\":\(Self.json(event.level.rawValue)),\"logger\":\(Self.json(label)),\"message\":\(Self.json(event.message.description))"
            for key in merged.keys.sorted() where !["time", "level", "logger", "message"].contains(key) {
                line += ",\(Self.json(key)):\(Self.json(merged[key]!.description))"
            }
            output.write(line + "}")
        }
    }

    static func textValue(_ value: Logger.MetadataValue) -> String {
        let text = value.description
        return text.contains(where: { $0 == " " || $0 == "\"" }) || text.isEmpty ? json(text) : text
    }

    static func json(_ text: String) -> String {
        JSONValue.quoted(text)
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000)
        )
    }
}
