import Crypto

/// The canonical request of AWS Signature Version 4 (AWS SigV4 documentation, "Create a canonical request"):
///
///     HTTPMethod \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
///
/// - CanonicalURI: the decoded path percent-encoded once (`SigV4Encoding`, `/` kept). With `normalizingPath`
///   the path is first normalised as RFC 3986 section 5.2.4 removes dot segments, with empty segments dropped
///   too (what the non-S3 services expect); S3 never normalises, so the S3 client passes `false`.
/// - CanonicalQueryString: every name and value encoded (`/` too), sorted by encoded name then encoded value,
///   `name=value` joined with `&`; a name without a value is `name=`.
/// - CanonicalHeaders: names lower-cased, sorted; values trimmed with inner runs of spaces and tabs collapsed
///   to one space; a repeated field's values joined with `,` in their order.
public struct CanonicalRequest: Sendable, Equatable {
    public let method: String
    public let uri: String
    public let query: String
    /// `name:value` lines, each ending in a line feed.
    public let headers: String
    public let signedHeaders: String
    public let payloadHash: String

    public init(_ request: SignableRequest, payloadHash: String, normalizingPath: Bool) {
        self.method = request.method
        let path = normalizingPath ? Self.normalized(request.path) : request.path
        self.uri = SigV4Encoding.encode(path.isEmpty ? "/" : path, keepingSlash: true)
        self.query = Self.canonicalQuery(request.query)
        var byName: [String: [String]] = [:]
        var order: [String] = []
        for header in request.headers {
            let name = header.name.lowercased()
            if byName[name] == nil { order.append(name) }
            byName[name, default: []].append(Self.canonicalValue(header.value))
        }
        let names = order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        self.headers = names.map { "\($0):\(byName[$0, default: []].joined(separator: ","))\n" }.joined()
        self.signedHeaders = names.joined(separator: ";")
        self.payloadHash = payloadHash
    }

    public var text: String {
        [method, uri, query, headers, signedHeaders, payloadHash].joined(separator: "\n")
    }

    /// Hex SHA-256 of `text`, the third line of the string to sign.
    public var hash: String {
        SHA256.hash(data: Array(text.utf8)).hexString
    }

    static func canonicalQuery(_ items: [SignableRequest.QueryItem]) -> String {
        items.map { (Array(SigV4Encoding.encode($0.name, keepingSlash: false).utf8), Array(SigV4Encoding.encode($0.value, keepingSlash: false).utf8)) }
            .sorted { $0.0 == $1.0 ? $0.1.lexicographicallyPrecedes($1.1) : $0.0.lexicographicallyPrecedes($1.0) }
            .map { String(decoding: $0.0, as: UTF8.self) + "=" + String(decoding: $0.1, as: UTF8.self) }
            .joined(separator: "&")
    }

    /// Trimmed, with each run of spaces, tabs and line breaks (folded lines) made one space.
    static func canonicalValue(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Dot segments removed (RFC 3986 section 5.2.4) and empty segments dropped; a trailing `/` kept.
    static func normalized(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        if segments.isEmpty { return "/" }
        return "/" + segments.joined(separator: "/") + (path.hasSuffix("/") ? "/" : "")
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex, as SigV4 writes hashes and signatures.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
