import Yams

/// A configuration file parsed into ``ConfigValue``s, with `${VAR}` expanded in every scalar value.
public struct ConfigDocument: Sendable {
    public var path: String
    public var root: ConfigValue

    /// Parses YAML text; every syntax and expansion problem is reported with its position.
    public static func parse(
        _ text: String,
        path: String,
        environment: [String: String]
    ) throws(ConfigErrors) -> ConfigDocument {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigErrors([Self.diagnostic(for: error, path: path)])
        } catch {
            throw ConfigErrors([ConfigDiagnostic("cannot parse YAML: \(error)", at: .init(file: path, line: 1, column: 1))])
        }
        var converter = Converter(path: path, expansion: EnvironmentExpansion(environment: environment))
        let root = node.map { converter.convert($0) }
            ?? ConfigValue(.null, at: SourceLocation(file: path, line: 1, column: 1))
        if !converter.diagnostics.isEmpty {
            throw ConfigErrors(converter.diagnostics)
        }
        return ConfigDocument(path: path, root: root)
    }

    static func diagnostic(for error: YamlError, path: String) -> ConfigDiagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: path, line: mark.line, column: mark.column) }
        func problem(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return "YAML syntax error: \(problem)" }
            return "YAML syntax error: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch error {
        case .scanner(let context, let text, let mark, _),
            .parser(let context, let text, let mark, _),
            .composer(let context, let text, let mark, _):
            return ConfigDiagnostic(problem(context, text), at: at(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigDiagnostic("duplicate key \(keys) in mapping", at: at(context.mark))
        case .reader(let problem, _, _, _):
            return ConfigDiagnostic("cannot read YAML: \(problem)", at: SourceLocation(file: path, line: 1, column: 1))
        default:
            return ConfigDiagnostic("cannot parse YAML: \(error)", at: SourceLocation(file: path, line: 1, column: 1))
        }
    }

    private struct Converter {
        let path: String
        let expansion: EnvironmentExpansion
        var diagnostics: [ConfigDiagnostic] = []

        func location(_ mark: Mark?) -> SourceLocation {
            SourceLocation(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1)
        }

        mutating func convert(_ node: Node) -> ConfigValue {
            let here = location(node.mark)
            switch node {
            case .scalar(let scalar):
                let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
                    || scalar.style == .literal || scalar.style == .folded
                if !quoted, Self.isNull(scalar.string) {
                    return ConfigValue(.null, at: here)
                }
                do {
                    return ConfigValue(.scalar(try expansion.expand(scalar.string), quoted: quoted), at: here)
                } catch {
                    var at = here
                    if !quoted, scalar.style == .plain { at.column += error.offset }
                    diagnostics.append(ConfigDiagnostic(error.message, at: at))
                    return ConfigValue(.scalar(scalar.string, quoted: quoted), at: here)
                }
            case .sequence(let sequence):
                return ConfigValue(.sequence(sequence.map { convert($0) }), at: here)
            case .mapping(let mapping):
                var entries: [ConfigValue.Entry] = []
                for (key, value) in mapping {
                    guard case .scalar(let keyScalar) = key else {
                        diagnostics.append(ConfigDiagnostic("mapping keys must be plain names", at: location(key.mark)))
                        continue
                    }
                    entries.append(.init(key: keyScalar.string, keyLocation: location(key.mark), value: convert(value)))
                }
                return ConfigValue(.mapping(entries), at: here)
            case .alias:
                diagnostics.append(ConfigDiagnostic("unresolved YAML alias", at: here))
                return ConfigValue(.null, at: here)
            }
        }

        /// YAML 1.2 core schema nulls.
        static func isNull(_ text: String) -> Bool {
            text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
    }
}
