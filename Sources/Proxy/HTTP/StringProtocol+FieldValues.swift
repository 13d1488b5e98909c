extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (RFC 9110 5.6.3 optional whitespace).
    func trimmingASCIISpaces() -> SubSequence {
        let bytes = utf8
        var start = bytes.startIndex
        while start < bytes.endIndex, Self.isSpace(bytes[start]) { start = bytes.index(after: start) }
        var end = start
        var cursor = start
        while cursor < bytes.endIndex {
            let next = bytes.index(after: cursor)
            if !Self.isSpace(bytes[cursor]) { end = next }
            cursor = next
        }
        return self[start..<end]
    }

    /// The elements of a comma-separated field value (RFC 9110 5.6.1), trimmed, empty ones
    /// skipped; found as they are iterated, so reading a list allocates nothing.
    var listElements: FieldListElements<Self> {
        FieldListElements(self)
    }

    fileprivate static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}

/// The elements of a comma-separated field value; see ``StringProtocol/listElements``.
///
/// Field values are searched byte by byte: a comma or a space is always a whole character in
/// UTF-8, and scanning bytes is much cheaper than scanning `Character`s.
struct FieldListElements<Text: StringProtocol>: Sequence, IteratorProtocol {
    private let text: Text
    private var position: Text.Index

    init(_ text: Text) {
        self.text = text
        self.position = text.utf8.startIndex
    }

    mutating func next() -> Text.SubSequence? {
        let bytes = text.utf8
        while position < bytes.endIndex {
            var end = position
            while end < bytes.endIndex, bytes[end] != UInt8(ascii: ",") { end = bytes.index(after: end) }
            let element = text[position..<end].trimmingASCIISpaces()
            position = end < bytes.endIndex ? bytes.index(after: end) : end
            if !element.isEmpty {
                return element
            }
        }
        return nil
    }
}
