/// A type that can be read from a configuration value.
///
/// Scalars throw a ``ConfigDiagnostic`` naming what is wrong; composite types record their problems in the
/// decoder and throw ``ConfigProblemsRecorded``.
public protocol ConfigDecodable {
    init(from value: ConfigValue, in decoder: ConfigDecoder) throws
}

extension ConfigValue {
    /// The scalar text, or a diagnostic saying which type was expected.
    public func scalar(expecting what: String) throws(ConfigDiagnostic) -> String {
        guard case .scalar(let text, _) = kind else {
            throw ConfigDiagnostic("expected \(what), found \(kindDescription)", at: location)
        }
        return text
    }
}

/// The error of a value-syntax parser (durations, sizes, addresses): one message saying what is wrong.
public protocol ConfigSyntaxError: Error {
    var message: String { get }
}

extension ConfigValue {
    /// The scalar parsed by `parse`, with a parse failure turned into a diagnostic at this value.
    public func parsed<Value, Failure: ConfigSyntaxError>(
        expecting what: String,
        with parse: (String) throws(Failure) -> Value
    ) throws -> Value {
        let text = try scalar(expecting: what)
        do {
            return try parse(text)
        } catch {
            throw ConfigDiagnostic(error.message, at: location)
        }
    }
}

extension String: ConfigDecodable {
    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        self = try value.scalar(expecting: "a string")
    }
}

extension Bool: ConfigDecodable {
    /// YAML 1.2 core schema booleans only: `yes`/`no`/`on`/`off` are strings there, and accepting them would
    /// make `country: no` a boolean somewhere else.
    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        let text = try value.scalar(expecting: "true or false")
        switch text {
        case "true", "True", "TRUE": self = true
        case "false", "False", "FALSE": self = false
        default: throw ConfigDiagnostic("expected true or false, found '\(text)'", at: value.location)
        }
    }
}

extension Int: ConfigDecodable {
    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        let text = try value.scalar(expecting: "an integer")
        guard let number = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw ConfigDiagnostic("expected an integer, found '\(text)'", at: value.location)
        }
        self = number
    }
}

extension Double: ConfigDecodable {
    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        let text = try value.scalar(expecting: "a number")
        guard let number = Double(text), number.isFinite else {
            throw ConfigDiagnostic("expected a number, found '\(text)'", at: value.location)
        }
        self = number
    }
}

extension Array: ConfigDecodable where Element: ConfigDecodable {
    /// A list; a single scalar is accepted as a list of one, so `listen: ":8080"` works as `listen: [":8080"]`.
    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        switch value.kind {
        case .sequence(let items):
            let before = decoder.problemCount
            let decoded = items.compactMap { decoder.decode(Element.self, from: $0) }
            if decoder.problemCount != before { throw ConfigProblemsRecorded() }
            self = decoded
        case .scalar:
            self = [try Element(from: value, in: decoder)]
        case .null:
            self = []
        case .mapping:
            throw ConfigDiagnostic("expected a list, found a mapping", at: value.location)
        }
    }
}

/// A choice among fixed words, such as `balance: least`.
public protocol ConfigEnumeration: ConfigDecodable, RawRepresentable, CaseIterable where RawValue == String {}

extension ConfigEnumeration {
    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        let text = try value.scalar(expecting: "one of \(Self.choices)")
        guard let choice = Self(rawValue: text) else {
            throw ConfigDiagnostic("expected one of \(Self.choices), found '\(text)'", at: value.location)
        }
        self = choice
    }

    static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension ConfigMapping {
    /// An integer under `key` that must lie in `range`; out-of-range values are recorded and `fallback` used.
    public func value(_ key: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        guard let number = optional(key, as: Int.self) else { return fallback }
        guard range.contains(number) else {
            decoder.record(
                "\(key) must be between \(range.lowerBound) and \(range.upperBound), found \(number)",
                at: value(key)?.location ?? location
            )
            return fallback
        }
        return number
    }

    /// A duration under `key` that must lie in `range`.
    public func value(_ key: String, default fallback: Duration, in range: ClosedRange<Duration>) -> Duration {
        guard let duration = optional(key, as: ConfigDuration.self)?.duration else { return fallback }
        guard range.contains(duration) else {
            decoder.record(
                "\(key) must be between \(ConfigDuration(range.lowerBound)) and \(ConfigDuration(range.upperBound)), found \(ConfigDuration(duration))",
                at: value(key)?.location ?? location
            )
            return fallback
        }
        return duration
    }
}
