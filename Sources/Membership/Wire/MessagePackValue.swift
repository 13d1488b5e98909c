/// One msgpack value as memberlist and serf exchange them.
///
/// go-msgpack (hashicorp/go-msgpack v0.5, `codec/msgpack.go`, as memberlist's `util.go` configures it: a bare
/// `MsgpackHandle`, `WriteExt` false) writes Go strings and `[]byte` alike in the old spec's "raw" family, so
/// both are one case here, ``raw(_:)``; the reader also takes the new spec's str8 and bin8/16/32 into it because
/// other implementations send them. Non-negative integers are ``uint(_:)`` whatever their Go type (go-msgpack
/// writes them as unsigned); ``int(_:)`` is what the reader returns for the signed encodings.
public enum MessagePackValue: Sendable, Hashable {
    case `nil`
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    case raw([UInt8])
    case array([MessagePackValue])
    /// Key/value pairs in wire order (Go structs are maps keyed by field name, in declaration order).
    case map([MessagePackPair])
    case ext(type: Int8, data: [UInt8])

    /// A Go string, as the old spec's raw bytes (UTF-8).
    public static func string(_ text: String) -> MessagePackValue { .raw(Array(text.utf8)) }

    /// The value as an integer when it is one (signed or unsigned encoding) and fits.
    public var integer: Int64? {
        switch self {
        case .int(let value): value
        case .uint(let value): value <= UInt64(Int64.max) ? Int64(value) : nil
        default: nil
        }
    }

    /// The value of `key` when this is a map whose keys are raw strings (a Go struct or `map[string]T`).
    public subscript(key: String) -> MessagePackValue? {
        guard case .map(let pairs) = self else { return nil }
        let bytes = Array(key.utf8)
        return pairs.first { $0.key == .raw(bytes) }?.value
    }
}

/// A key and its value in a msgpack map.
public struct MessagePackPair: Sendable, Hashable {
    public var key: MessagePackValue
    public var value: MessagePackValue

    public init(_ key: MessagePackValue, _ value: MessagePackValue) {
        self.key = key
        self.value = value
    }
}
