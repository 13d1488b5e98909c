#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// One traced request, written as one JSON line with sidekick's fields.
struct TraceRecord: Sendable, Equatable {
    /// Wall-clock time the request arrived, in nanoseconds since the Unix epoch.
    var time: Int64
    var client: String
    var method: String
    var path: String
    var query: String
    var status: Int
    /// Bytes received from the client (request body).
    var rx: Int
    /// Bytes sent to the client (response body).
    var tx: Int
    var latency: TimeAmount
    var timeToFirstByte: TimeAmount?
    /// `scheme://host:port` of the backend, empty when the proxy answered itself.
    var backend: String
    var site: String

    /// The current wall-clock time for ``time``.
    static func wallClockNow() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    var json: String {
        var out = "{\"time\":\""
        out += Self.rfc3339(time)
        out += "\",\"client\":"
        Self.appendJSONString(client, to: &out)
        out += ",\"method\":"
        Self.appendJSONString(method, to: &out)
        out += ",\"path\":"
        Self.appendJSONString(path, to: &out)
        out += ",\"query\":"
        Self.appendJSONString(query, to: &out)
        out += ",\"status\":\(status),\"rx\":\(rx),\"tx\":\(tx),\"latency\":\""
        out += Self.goDuration(latency)
        out += "\",\"ttfb\":\""
        out += timeToFirstByte.map(Self.goDuration) ?? ""
        out += "\",\"backend\":"
        Self.appendJSONString(backend, to: &out)
        out += ",\"site\":"
        Self.appendJSONString(site, to: &out)
        out += "}"
        return out
    }

    /// Formats like Go's `time.Duration.String`, which sidekick's JSON traces use: `1.5ms`, `2.01s`.
    static func goDuration(_ amount: TimeAmount) -> String {
        let nanoseconds = amount.nanoseconds
        if nanoseconds == 0 { return "0s" }
        let (value, unit): (Double, String) =
            switch abs(nanoseconds) {
            case ..<1_000: (Double(nanoseconds), "ns")
            case ..<1_000_000: (Double(nanoseconds) / 1e3, "µs")
            case ..<1_000_000_000: (Double(nanoseconds) / 1e6, "ms")
            default: (Double(nanoseconds) / 1e9, "s")
            }
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text + unit
    }

    /// `2024-05-01T12:00:00.123Z`.
    static func rfc3339(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        let milliseconds = Int((nanoseconds % 1_000_000_000) / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }

    static func appendJSONString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
