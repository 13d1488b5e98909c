import Foundation
import Plugins
import Proxy

/// sidekick's live console: one row per backend with its site, status, calls, failures, bytes, downtime and
/// latency range, redrawn in place on a terminal.
public enum SidekickTable {
    static let headers = ["SITE", "HOST", "STATUS", "CALLS", "FAILURES", "RX", "TX", "TOTAL DOWNTIME", "LAST DOWNTIME", "MIN LATENCY", "MAX LATENCY"]

    /// The table as lines of text, columns padded to their widest cell.
    public static func render(_ status: ProxyStatus) -> String {
        var rows = [headers]
        for site in status.sites {
            for backend in site.backends {
                rows.append([
                    site.name,
                    backend.endpoint,
                    backend.status == "online" ? "UP" : "DOWN",
                    String(backend.calls),
                    String(backend.failures),
                    bytes(backend.rxBytes),
                    bytes(backend.txBytes),
                    duration(backend.downtimeSeconds),
                    duration(backend.lastDowntimeSeconds),
                    backend.minLatencySeconds.map(duration) ?? "-",
                    backend.maxLatencySeconds.map(duration) ?? "-",
                ])
            }
        }
        let widths = headers.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    /// Clears the terminal and moves the cursor home before the table, so each frame replaces the last.
    public static func frame(_ status: ProxyStatus) -> String {
        "\u{1B}[H\u{1B}[2J" + render(status)
    }

    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ seconds: Double) -> String {
        if seconds == 0 { return "0s" }
        if seconds < 1e-3 { return String(format: "%.0fµs", seconds * 1e6) }
        if seconds < 1 { return String(format: "%.1fms", seconds * 1e3) }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        return ConfigDuration(.seconds(Int64(seconds))).description
    }
}
