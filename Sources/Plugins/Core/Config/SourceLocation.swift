/// A position in a configuration file, as editors and compilers print it: `PATH:LINE:COLUMN`.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// Line number, starting from 1.
    public var line: Int
    /// Column number, starting from 1, counted in Unicode scalars as libYAML does.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}
