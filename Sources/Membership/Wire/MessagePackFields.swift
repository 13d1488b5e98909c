/// The fields of a Go struct as go-msgpack decodes one (hashicorp/go-msgpack v0.5 `codec/decode.go`, struct from
/// a map): keyed by the Go field name; a missing field or a nil value leaves the Go zero value; unknown fields
/// are skipped; a value of the wrong kind, or an integer that does not fit the field, is an error. Strings and
/// byte slices are interchangeable (both raw).
public struct MessagePackFields: Sendable {
    private var values: [String: MessagePackValue]
    private let context: String

    /// The fields of `value`, which must be a map (or nil, go-msgpack's empty struct); `context` names the Go
    /// type in errors.
    public init(_ value: MessagePackValue, context: String) throws(WireError) {
        self.context = context
        values = [:]
        switch value {
        case .nil: return
        case .map(let pairs):
            for pair in pairs {
                guard case .raw(let key) = pair.key else {
                    throw .wrongType(field: context, expected: "a map keyed by field names")
                }
                values[String(decoding: key, as: UTF8.self)] = pair.value
            }
        default: throw .wrongType(field: context, expected: "a map (msgpack-encoded struct)")
        }
    }

    public func value(_ name: String) -> MessagePackValue? {
        guard let value = values[name], value != .nil else { return nil }
        return value
    }

    public func unsigned<T: FixedWidthInteger & UnsignedInteger>(_ name: String, as type: T.Type = T.self)
        throws(WireError) -> T
    {
        guard let value = value(name) else { return 0 }
        guard let number = value.unsignedInteger, let fitted = T(exactly: number) else {
            throw .wrongType(field: "\(context).\(name)", expected: "an unsigned integer of \(T.bitWidth) bits")
        }
        return fitted
    }

    public func signed<T: FixedWidthInteger & SignedInteger>(_ name: String, as type: T.Type = T.self)
        throws(WireError) -> T
    {
        guard let value = value(name) else { return 0 }
        guard let number = value.integer, let fitted = T(exactly: number) else {
            throw .wrongType(field: "\(context).\(name)", expected: "an integer of \(T.bitWidth) bits")
        }
        return fitted
    }

    public func bool(_ name: String) throws(WireError) -> Bool {
        guard let value = value(name) else { return false }
        guard case .bool(let flag) = value else { throw .wrongType(field: "\(context).\(name)", expected: "a bool") }
        return flag
    }

    public func bytes(_ name: String) throws(WireError) -> [UInt8] {
        guard let value = value(name) else { return [] }
        guard case .raw(let raw) = value else {
            throw .wrongType(field: "\(context).\(name)", expected: "bytes (raw, str or bin)")
        }
        return raw
    }

    public func string(_ name: String) throws(WireError) -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }
}

extension MessagePackValue {
    /// The value as an unsigned integer when it is a non-negative integer of either encoding.
    public var unsignedInteger: UInt64? {
        switch self {
        case .uint(let value): value
        case .int(let value): value >= 0 ? UInt64(value) : nil
        default: nil
        }
    }
}

extension MessagePackWriter {
    /// Writes `name` as a map key (a Go field name).
    mutating func writeField(_ name: StaticString) {
        name.withUTF8Buffer { writeRaw($0) }
    }

    /// A Go `[]byte` field: go-msgpack writes a nil slice as msgpack nil, which is how memberlist sends an empty
    /// `Payload` or `Meta`; an empty slice here stands for Go's nil.
    mutating func writeByteSlice(_ raw: [UInt8]) {
        if raw.isEmpty { writeNil() } else { writeRaw(raw) }
    }
}
