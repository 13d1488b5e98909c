/// Reads one head as its bytes arrive: its start line (a request line or a status line),
/// parsed by the parser that owns the reader, then its field lines (see ``HeadFields``).
/// Nothing is read twice, however the head arrives.
struct HeadReader<StartLine> {
    /// How far the bytes of the start line are checked, until it has ended.
    private var checked = 0
    private(set) var startLine: StartLine?
    /// Where the field lines start, once the start line has ended.
    private(set) var fieldsStart = 0
    private var lines = HeadFields.LineProgress(position: 0)
    private(set) var fields = HeadFields()

    /// Whether nothing of a head has been read yet.
    var isAtStart: Bool {
        startLine == nil && checked == 0
    }

    /// Reads on in `bytes`, the head's bytes so far from its first.
    ///
    /// - Parameters:
    ///   - limit: the most bytes the head may take, its empty line included.
    ///   - parseStartLine: checks the start line, given without its CRLF, and gives what it says.
    /// - Returns: the length of the head, its empty line included, once it has ended; `nil`
    ///   while more bytes are needed.
    mutating func read(
        _ bytes: UnsafeRawBufferPointer,
        limit: Int,
        parseStartLine: (UnsafeRawBufferPointer) throws -> StartLine
    ) throws -> Int? {
        if startLine == nil {
            switch try HTTP1Syntax.scanLine(in: bytes, from: checked) {
            case .ended(let end):
                guard end + 2 <= limit else { throw HTTP1ParseError(description: "head larger than \(limit) bytes") }
                startLine = try parseStartLine(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
                fieldsStart = end + 2
                lines = HeadFields.LineProgress(position: fieldsStart)
            case .unfinished(let upTo):
                guard bytes.count <= limit else { throw HTTP1ParseError(description: "head larger than \(limit) bytes") }
                checked = upTo
                return nil
            }
        }
        return try fields.readLines(in: bytes, fieldsStart: fieldsStart, limit: limit, progress: &lines)
    }
}
