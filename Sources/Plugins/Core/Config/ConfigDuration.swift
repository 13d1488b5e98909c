/// A duration written as in Go and Prometheus: `250ms`, `5s`, `1m30s`, `1.5h`, `2d`.
///
/// Units: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, `d` (24 h). A number needs a unit, except a bare `0`.
public struct ConfigDuration: Sendable, Hashable, ConfigDecodable, CustomStringConvertible {
    public var duration: Duration

    public init(_ duration: Duration) {
        self.duration = duration
    }

    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        self.init(try value.parsed(expecting: "a duration such as 5s", with: Self.parse))
    }

    public struct ParseError: ConfigSyntaxError, Sendable, Equatable {
        public var message: String
    }

    private static let units: [(String, Duration)] = [
        ("ns", .nanoseconds(1)), ("us", .microseconds(1)), ("µs", .microseconds(1)), ("ms", .milliseconds(1)),
        ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)), ("d", .seconds(86400)),
    ]

    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let invalid = ParseError(message: "invalid duration '\(text)': use a number and a unit, such as 250ms, 5s or 1m30s")
        if text == "0" { return .zero }
        var rest = Substring(text)
        guard !rest.isEmpty else { throw invalid }
        var total = Duration.zero
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let amount = Double(number) else { throw invalid }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard !unitText.isEmpty else {
                throw ParseError(message: "invalid duration '\(text)': '\(number)' needs a unit (ns, us, ms, s, m, h, d)")
            }
            guard let unit = units.first(where: { $0.0 == unitText })?.1 else {
                throw ParseError(message: "invalid duration '\(text)': unknown unit '\(unitText)' (use ns, us, ms, s, m, h or d)")
            }
            rest = rest.dropFirst(unitText.count)
            total += unit * amount
        }
        return total
    }

    /// The shortest form that parses back to the same duration: `1m30s`, `250ms`.
    public var description: String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 {
            if seconds == 0 { return "0s" }
            var remaining = seconds
            var text = ""
            for (unit, size) in [("h", Int64(3600)), ("m", 60), ("s", 1)] where remaining >= size {
                text += "\(remaining / size)\(unit)"
                remaining %= size
            }
            return text
        }
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        if nanoseconds % 1_000 == 0 { return "\(nanoseconds / 1_000)us" }
        return "\(nanoseconds)ns"
    }
}
