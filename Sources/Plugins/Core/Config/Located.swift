/// A decoded setting together with where the file wrote it, for checks made after decoding: a required capability no
/// enabled role offers is reported at the setting that needs it.
///
/// Equal when the values are, wherever they were written: settings are compared on reload to decide whether a role
/// is touched, and moving a line is not a change.
public struct Located<Value: Sendable & Equatable>: Sendable, Equatable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    public static func == (lhs: Located, rhs: Located) -> Bool {
        lhs.value == rhs.value
    }
}

extension ConfigMapping {
    /// The decoded value under `key` with its position; nil when absent (or null) or when it did not decode
    /// (recorded).
    public func located<T: ConfigDecodable & Sendable & Equatable>(_ key: String, as type: T.Type = T.self) -> Located<T>? {
        guard let raw = value(key), let decoded = optional(key, as: T.self) else { return nil }
        return Located(decoded, at: raw.location)
    }
}
