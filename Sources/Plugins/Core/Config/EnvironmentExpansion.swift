/// `${VAR}` and `${VAR:-default}` in configuration values, for secrets kept out of the file.
///
/// Follows the POSIX shell's parameter expansion for these two forms: `${VAR:-default}` uses `default` when `VAR`
/// is unset or empty. `$$` writes a literal `$`; any other `$` is kept as it is, so values such as regular
/// expressions ending in `$` need no escaping.
public struct EnvironmentExpansion: Sendable {
    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public struct Failure: Error, Sendable, Equatable {
        /// Offset in Unicode scalars from the start of the value to the `$` that failed.
        public var offset: Int
        public var message: String
    }

    public func expand(_ text: String) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$", index + 1 < scalars.count else {
                output.append(scalar)
                index += 1
                continue
            }
            if scalars[index + 1] == "$" {
                output.append("$")
                index += 2
                continue
            }
            guard scalars[index + 1] == "{" else {
                output.append(scalar)
                index += 1
                continue
            }
            guard let close = scalars[(index + 2)...].firstIndex(of: "}") else {
                throw Failure(offset: index, message: "unterminated '${' in value (write '$$' for a literal '$')")
            }
            let body = String(String.UnicodeScalarView(scalars[(index + 2)..<close]))
            let name: String
            let fallback: String?
            if let separator = body.range(of: ":-") {
                name = String(body[..<separator.lowerBound])
                fallback = String(body[separator.upperBound...])
            } else {
                name = body
                fallback = nil
            }
            guard Self.isVariableName(name) else {
                throw Failure(offset: index, message: "invalid environment variable name '\(name)' in '${\(body)}'")
            }
            if let value = environment[name], !(fallback != nil && value.isEmpty) {
                output.append(contentsOf: value.unicodeScalars)
            } else if let fallback {
                output.append(contentsOf: fallback.unicodeScalars)
            } else {
                throw Failure(
                    offset: index,
                    message: "environment variable \(name) is not set (use ${\(name):-default} for a default)"
                )
            }
            index = close + 1
        }
        return String(output)
    }

    static func isVariableName(_ name: String) -> Bool {
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) || ("a"..."z").contains(c) || c == "_" }
        guard let first = name.unicodeScalars.first, isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }
}
