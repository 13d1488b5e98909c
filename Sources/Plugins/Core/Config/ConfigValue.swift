/// A node of a parsed configuration document, with where it came from.
///
/// Converted from libYAML's tree (through Yams) as soon as the file is parsed, so that configuration can be kept,
/// compared and passed between tasks as a plain value.
public struct ConfigValue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// An explicit or implicit YAML null (`~`, `null`, or nothing after the colon).
        case null
        /// A scalar after environment expansion; `quoted` tells `"8080"` from `8080`.
        case scalar(String, quoted: Bool)
        case sequence([ConfigValue])
        case mapping([Entry])
    }

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: ConfigValue

        public init(key: String, keyLocation: SourceLocation, value: ConfigValue) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// What the value is, in words for an error message.
    public var kindDescription: String {
        switch kind {
        case .null: "null"
        case .scalar: "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// The same value with every location removed, for deciding whether a section changed between two loads.
    public var content: ConfigValue {
        let nowhere = SourceLocation(file: "", line: 0, column: 0)
        switch kind {
        case .null, .scalar:
            return ConfigValue(kind, at: nowhere)
        case .sequence(let items):
            return ConfigValue(.sequence(items.map(\.content)), at: nowhere)
        case .mapping(let entries):
            return ConfigValue(
                .mapping(entries.map { Entry(key: $0.key, keyLocation: nowhere, value: $0.value.content) }),
                at: nowhere
            )
        }
    }
}
