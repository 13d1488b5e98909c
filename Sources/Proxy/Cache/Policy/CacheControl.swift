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
        var result: [(String, String?)] = []
        var name = ""
        var value: String?
        var inQuotes = false
        var escaped = false
        func finish() {
            let trimmedName = String(name.trimmingASCIISpaces()).lowercased()
            if !trimmedName.isEmpty {
                result.append((trimmedName, value.map { String($0.trimmingASCIISpaces()) }))
            }
            name = ""
            value = nil
        }
        for character in line {
            if inQuotes {
                if escaped {
                    value!.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inQuotes = false
                } else {
                    value!.append(character)
                }
                continue
            }
            switch character {
            case ",": finish()
            case "=" where value == nil: value = ""
            case "\"" where value != nil && value!.trimmingASCIISpaces().isEmpty:
                value = ""
                inQuotes = true
            default:
                if value != nil { value!.append(character) } else { name.append(character) }
            }
        }
        finish()
        return result
    }
}
