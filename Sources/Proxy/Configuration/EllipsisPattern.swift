/// Expands sidekick's ellipsis notation, `http://minio{1...4}:9000`, into concrete strings.
///
/// The rules follow MinIO's `pkg/ellipses`, which sidekick uses to parse its `SITE` arguments:
/// - a range `{a...b}` holds two unsigned numbers, read as decimal when both are decimal, else as
///   hexadecimal (`{a...f}`); hexadecimal values are written back in lower case;
/// - values are zero padded to the width of the wider bound when the start has a leading zero
///   (`{01...16}`) or the end starts with `0` (`{0...0f}` is not padded, `{1...010}` is);
/// - several ranges in one string expand to their cartesian product, the leftmost range varying
///   slowest, so `h{1...2}d{1...2}` gives `h1d1, h1d2, h2d1, h2d2`.
public struct EllipsisPattern: Sendable, Equatable {
    /// One piece of the pattern: literal text or a range of values.
    enum Segment: Sendable, Equatable {
        case literal(String)
        case range([String])
    }

    /// Why a string could not be expanded.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidRange(String)
        case startAfterEnd(String)
        case unbalancedBrace

        public var description: String {
            switch self {
            case .invalidRange(let range): "invalid range {\(range)}"
            case .startAfterEnd(let range): "range {\(range)} starts after it ends"
            case .unbalancedBrace: "unbalanced '{' or '}'"
            }
        }
    }

    let segments: [Segment]

    /// Parses `pattern`; a brace that does not open a valid `{a...b}` range is an error.
    public init(_ pattern: String) throws(ParseError) {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            guard rest[open] == "{", let close = rest[open...].firstIndex(of: "}") else {
                throw .unbalancedBrace
            }
            literal += rest[..<open]
            let body = rest[rest.index(after: open)..<close]
            if body.contains("{") { throw .unbalancedBrace }
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literal = ""
            }
            segments.append(.range(try Self.values(of: body)))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
    }

    /// Whether the string contains at least one `{a...b}` range.
    public var hasRanges: Bool {
        segments.contains { if case .range = $0 { true } else { false } }
    }

    /// Every string the pattern stands for, in order.
    public func expanded() -> [String] {
        var results = [""]
        for segment in segments {
            switch segment {
            case .literal(let text):
                for index in results.indices { results[index] += text }
            case .range(let values):
                results = results.flatMap { prefix in values.map { prefix + $0 } }
            }
        }
        return results
    }

    /// Whether `text` contains a brace, the mark of a pattern that was not expanded.
    static func containsBrace(_ text: String) -> Bool {
        text.contains("{") || text.contains("}")
    }

    private static func values(of body: Substring) throws(ParseError) -> [String] {
        let parts = body.split(separator: "...", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalidRange(String(body))
        }
        let start = parts[0]
        let end = parts[1]
        let radix: Int
        let low: UInt64
        let high: UInt64
        if let decimalLow = UInt64(start, radix: 10), let decimalHigh = UInt64(end, radix: 10) {
            (radix, low, high) = (10, decimalLow, decimalHigh)
        } else if let hexLow = UInt64(start, radix: 16), let hexHigh = UInt64(end, radix: 16) {
            (radix, low, high) = (16, hexLow, hexHigh)
        } else {
            throw .invalidRange(String(body))
        }
        guard low <= high else { throw .startAfterEnd(String(body)) }
        // A range of millions of backends is a typing mistake, not a deployment.
        guard high - low < 65_536 else { throw .invalidRange(String(body)) }
        let padded = (start.first == "0" && start.count > 1) || end.first == "0"
        let width = padded ? max(start.count, end.count) : 0
        return (low...high).map { value in
            let digits = String(value, radix: radix)
            return digits.count < width ? String(repeating: "0", count: width - digits.count) + digits : digits
        }
    }
}
