import NIOHTTP1

/// The directives of a message's `Cache-Control` fields (RFC 9111 5.2), request and response
/// ones alike, with RFC 5861's `stale-while-revalidate` and `stale-if-error` and RFC 8246's
/// `immutable`.
///
/// Names are case-insensitive; values are tokens or quoted strings (RFC 9111 5.2). When a
/// directive appears more than once the first occurrence counts (RFC 9111 4.2.1). A
/// `max-age` or `s-maxage` whose value is not a delta-seconds makes ``hasInvalidLifetime``
/// true: the response is then treated as stale (RFC 9111 4.2.1, 1.2.2), and a delta-seconds
/// too large is taken as 2147483648 (RFC 9111 1.2.2).
public struct CacheControl: Sendable, Equatable {
    public var maxAge: Int?
    public var sharedMaxAge: Int?
    /// `max-stale` (request): `Int.max` without a value, any staleness.
    public var maxStale: Int?
    public var minFresh: Int?
    public var noCache = false
    /// `no-cache="field, ..."` (response, RFC 9111 5.2.2.4): those fields need revalidation;
    /// the rest of the response may be served.
    public var noCacheFields: [String] = []
    public var noStore = false
    public var noTransform = false
    public var onlyIfCached = false
    public var mustRevalidate = false
    public var proxyRevalidate = false
    public var mustUnderstand = false
    public var isPublic = false
    public var isPrivate = false
    /// `private="field, ..."` (RFC 9111 5.2.2.7): a shared cache stores the response without them.
    public var privateFields: [String] = []
    public var immutable = false
    public var staleWhileRevalidate: Int?
    public var staleIfError: Int?
    public var hasInvalidLifetime = false

    public init() {}

    /// The directives of every `Cache-Control` line of `headers`.
    public init(_ headers: HTTPHeaders) {
        for line in headers["cache-control"] {
            parse(line[...])
        }
    }

    /// The largest delta-seconds a cache handles (RFC 9111 1.2.2).
    public static let maximumDelta = 2_147_483_648

    private mutating func parse(_ line: Substring) {
        for (name, value) in Self.directives(of: line) {
            switch name {
            case "max-age": Self.setDelta(&maxAge, value, lifetime: true, invalid: &hasInvalidLifetime)
            case "s-maxage": Self.setDelta(&sharedMaxAge, value, lifetime: true, invalid: &hasInvalidLifetime)
            case "max-stale":
                if maxStale == nil { maxStale = value.flatMap(Self.delta) ?? (value == nil ? Int.max : nil) }
            case "min-fresh": Self.setDelta(&minFresh, value, lifetime: false, invalid: &hasInvalidLifetime)
            case "no-cache":
                noCache = true
                if let value { noCacheFields += Self.fieldNames(value) }
            case "no-store": noStore = true
            case "no-transform": noTransform = true
            case "only-if-cached": onlyIfCached = true
            case "must-revalidate": mustRevalidate = true
            case "proxy-revalidate": proxyRevalidate = true
            case "must-understand": mustUnderstand = true
            case "public": isPublic = true
            case "private":
                if let value {
                    privateFields += Self.fieldNames(value)
                } else {
                    isPrivate = true
                }
            case "immutable": immutable = true
            case "stale-while-revalidate": Self.setDelta(&staleWhileRevalidate, value, lifetime: false, invalid: &hasInvalidLifetime)
            case "stale-if-error": Self.setDelta(&staleIfError, value, lifetime: false, invalid: &hasInvalidLifetime)
            default: break  // RFC 9111 5.2.3: unknown extensions are ignored.
            }
        }
    }

    private static func setDelta(_ slot: inout Int?, _ value: String?, lifetime: Bool, invalid: inout Bool) {
        guard slot == nil else { return }
        if let value, let delta = Self.delta(value) {
            slot = delta
        } else if lifetime {
            invalid = true
        }
    }

    /// A delta-seconds (RFC 9111 1.2.2): digits only, capped at 2^31.
    static func delta(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if text.utf8.count > 10 { return maximumDelta }
        return min(Int(text) ?? maximumDelta, maximumDelta)
    }

    private static func fieldNames(_ value: String) -> [String] {
        value.split(separator: ",").map { String($0.trimmingASCIISpaces()).lowercased() }.filter { !$0.isEmpty }
    }

    /// The `name[=value]` directives of one field line, names lower-cased, quoted values
    /// unquoted; commas inside quoted strings do not split.
    static func directives(of line: Substring) -> [(String, String?)] {
        // Read as bytes: every delimiter is ASCII, and a hit parses its stored response's field each time.
        var result: [(String, String?)] = []
        var name: [UInt8] = []
        var value: [UInt8]?
        var inQuotes = false
        var escaped = false
        func finish() {
            let trimmedName = Self.trimmed(name)
            if !trimmedName.isEmpty {
                let lowered = trimmedName.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
                result.append((String(decoding: lowered, as: UTF8.self), value.map { String(decoding: Self.trimmed($0), as: UTF8.self) }))
            }
            name.removeAll(keepingCapacity: true)
            value = nil
        }
        for byte in line.utf8 {
            if inQuotes {
                if escaped {
                    value!.append(byte)
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                } else {
                    value!.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","): finish()
            case UInt8(ascii: "=") where value == nil: value = []
            case UInt8(ascii: "\"") where value != nil && Self.trimmed(value!).isEmpty:
                value = []
                inQuotes = true
            default:
                if value != nil { value!.append(byte) } else { name.append(byte) }
            }
        }
        finish()
        return result
    }

    /// `bytes` without leading and trailing spaces and tabs.
    private static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }
}
