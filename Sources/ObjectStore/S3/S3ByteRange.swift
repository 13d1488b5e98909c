/// A `Range: bytes=…` request (RFC 9110 section 14.1.2), one range only as S3 serves.
public enum S3ByteRange: Sendable, Equatable {
    /// `first-last`, both inclusive.
    case bounded(first: Int64, last: Int64)
    /// `first-`.
    case from(Int64)
    /// `-length`: the last `length` bytes.
    case suffix(Int64)

    public var headerValue: String {
        switch self {
        case .bounded(let first, let last): "bytes=\(first)-\(last)"
        case .from(let first): "bytes=\(first)-"
        case .suffix(let length): "bytes=-\(length)"
        }
    }
}
