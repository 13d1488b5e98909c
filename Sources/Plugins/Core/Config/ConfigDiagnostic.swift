/// One problem found in a configuration file, printed as one line: `PATH:LINE:COLUMN: message`.
public struct ConfigDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ message: String, at location: SourceLocation) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Every problem found in a configuration file, in file order. Thrown when a file does not validate, so that a
/// user fixes them all in one pass rather than one per run.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(_ diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics.sorted {
            ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
        }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Thrown by a decoder after it has recorded its problems in the ``ConfigDecoder``; the caller records nothing more.
public struct ConfigProblemsRecorded: Error, Sendable {
    public init() {}
}
