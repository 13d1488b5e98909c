/// A `Cache-Status` field value (RFC 9211): what the cache did with a request.
public struct CacheStatus: Sendable, Equatable, CustomStringConvertible {
    /// RFC 9211 2.2's `fwd` values.
    public enum Forward: String, Sendable {
        case bypass
        case method
        case uriMiss = "uri-miss"
        case varyMiss = "vary-miss"
        case miss
        case request
        case stale
        case partial
    }

    public static let cacheName = "outrider"

    public var hit = false
    public var forward: Forward?
    public var forwardStatus: Int?
    public var ttl: Int?
    public var stored = false
    public var collapsed = false
    public var detail: String?

    public init(hit: Bool = false, forward: Forward? = nil, forwardStatus: Int? = nil, ttl: Int? = nil, stored: Bool = false, collapsed: Bool = false, detail: String? = nil) {
        self.hit = hit
        self.forward = forward
        self.forwardStatus = forwardStatus
        self.ttl = ttl
        self.stored = stored
        self.collapsed = collapsed
        self.detail = detail
    }

    public var description: String {
        var text = Self.cacheName
        if hit { text += "; hit" }
        if let forward { text += "; fwd=\(forward.rawValue)" }
        if let forwardStatus { text += "; fwd-status=\(forwardStatus)" }
        if let ttl { text += "; ttl=\(ttl)" }
        if stored { text += "; stored" }
        if collapsed { text += "; collapsed" }
        if let detail { text += "; detail=\(Self.token(detail))" }
        return text
    }

    /// Writes ``description`` into a head being written, without making it a `String` first: a
    /// hit writes one with every response. At most ``maximumLength`` bytes.
    func write(into writer: inout HeadWriter) {
        writer.write("outrider")
        if hit { writer.write("; hit") }
        if let forward {
            writer.write("; fwd=")
            writer.write(string: forward.rawValue)
        }
        if let forwardStatus {
            writer.write("; fwd-status=")
            writer.write(decimal: forwardStatus)
        }
        if let ttl {
            writer.write("; ttl=")
            writer.write(decimal: ttl)
        }
        if stored { writer.write("; stored") }
        if collapsed { writer.write("; collapsed") }
        if let detail {
            writer.write("; detail=")
            writer.write(string: Self.token(detail))
        }
    }

    /// The most bytes ``write(into:)`` writes: the fixed texts, two numbers, and `detail` quoted
    /// with every byte escaped.
    var maximumLength: Int {
        128 + 2 * (detail?.utf8.count ?? 0)
    }

    /// `detail` as an sf-token when it is one, else an sf-string (RFC 8941).
    private static func token(_ text: String) -> String {
        let tokenBytes = text.utf8.allSatisfy { byte in
            (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte) || (0x30...0x39).contains(byte)
                || "-._:/!#$%&'*+^`|~".utf8.contains(byte)
        }
        if tokenBytes, let first = text.utf8.first, (0x41...0x5a).contains(first) || (0x61...0x7a).contains(first) {
            return text
        }
        var escaped = "\""
        for character in text where character.isASCII && !(character.asciiValue! < 0x20 || character.asciiValue! == 0x7f) {
            if character == "\\" || character == "\"" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped + "\""
    }
}
