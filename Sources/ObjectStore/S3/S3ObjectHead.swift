import NIOHTTP1

/// What a HEAD or GET of an object says about it: its length, validators, type and user metadata
/// (`x-amz-meta-*`, names lower-cased without the prefix).
public struct S3ObjectHead: Sendable, Equatable {
    /// The whole object's length (for a range GET, from `Content-Range`; the part's length is `partLength`).
    public var contentLength: Int64
    public var etag: String?
    public var lastModified: String?
    public var contentType: String?
    public var metadata: [String: String]

    public init(contentLength: Int64, etag: String? = nil, lastModified: String? = nil, contentType: String? = nil, metadata: [String: String] = [:]) {
        self.contentLength = contentLength
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.metadata = metadata
    }

    static let metadataPrefix = "x-amz-meta-"

    /// From a response's header fields; nil when a required one is missing or malformed.
    init?(headers: HTTPHeaders, contentLength: Int64) {
        self.contentLength = contentLength
        etag = headers.first(name: "etag")
        lastModified = headers.first(name: "last-modified")
        contentType = headers.first(name: "content-type")
        var metadata: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower.hasPrefix(Self.metadataPrefix) {
                metadata[String(lower.dropFirst(Self.metadataPrefix.count))] = value
            }
        }
        self.metadata = metadata
    }

    /// The header fields that send `metadata` (S3 API Reference, PutObject: "User-defined object metadata").
    /// Names must be tokens (RFC 9110 section 5.6.2) and values visible ASCII with spaces: S3 stores and returns
    /// header metadata as US-ASCII, so callers encode anything else first.
    static func metadataHeaders(_ metadata: [String: String]) throws(S3Error) -> [SignableRequest.Header] {
        var headers: [SignableRequest.Header] = []
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                throw .invalidRequest(reason: "metadata name \"\(name)\" is not an HTTP token")
            }
            guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw .invalidRequest(reason: "metadata \(name) has a value that is not printable ASCII")
            }
            headers.append(.init(metadataPrefix + name.lowercased(), value))
        }
        return headers
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
