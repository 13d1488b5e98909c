/// The small part of XML 1.0 that S3 answers are written in: elements, attributes (skipped), character data,
/// the five predefined entities and character references, CDATA sections, comments, processing instructions and
/// the XML declaration (skipped). No DTDs (a `<!DOCTYPE` fails: S3 never sends one, and refusing it rules out
/// entity expansion). Any bytes either parse or fail with `XMLTree.ParseError`; nesting is bounded.
///
/// Names keep no namespace prefix (`s3:Key` reads as `Key`), as S3's own documents use a default namespace.
public struct XMLTree: Sendable, Equatable {
    public var name: String
    public var children: [XMLTree]
    /// The element's own character data (not its children's), entities decoded.
    public var text: String

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public let offset: Int
        public var description: String { "malformed XML at byte \(offset): \(reason)" }
    }

    public static let maximumDepth = 32

    public init(name: String, children: [XMLTree] = [], text: String = "") {
        self.name = name
        self.children = children
        self.text = text
    }

    /// The first child named `name`.
    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// All children named `name`.
    public func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    public func text(of name: String) -> String? { child(name)?.text }

    /// The document element of `bytes`.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> XMLTree {
        var reader = Reader(bytes: bytes)
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func fail(_ reason: String) -> ParseError { ParseError(reason: reason, offset: index) }

        func starts(with text: String) -> Bool {
            let pattern = Array(text.utf8)
            return index + pattern.count <= bytes.count && Array(bytes[index..<(index + pattern.count)]) == pattern
        }

        mutating func skip(past terminator: String) throws(ParseError) {
            let pattern = Array(terminator.utf8)
            while index + pattern.count <= bytes.count {
                if Array(bytes[index..<(index + pattern.count)]) == pattern {
                    index += pattern.count
                    return
                }
                index += 1
            }
            throw fail("unterminated construct, expected \(terminator)")
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Comments, processing instructions and whitespace before or after the document element.
        mutating func skipMisc() throws(ParseError) {
            while true {
                skipWhitespace()
                if starts(with: "<?") {
                    try skip(past: "?>")
                } else if starts(with: "<!--") {
                    try skip(past: "-->")
                } else if starts(with: "<!") && !starts(with: "<![CDATA[") {
                    throw fail("document type declarations are not accepted")
                } else {
                    return
                }
            }
        }

        mutating func document() throws(ParseError) -> XMLTree {
            if starts(with: "\u{FEFF}") { index += 3 }
            try skipMisc()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("expected an element") }
            let root = try element(depth: 0)
            try skipMisc()
            guard index == bytes.count else { throw fail("content after the document element") }
            return root
        }

        static func isNameByte(_ byte: UInt8) -> Bool {
            !([0x20, 0x09, 0x0A, 0x0D] as [UInt8]).contains(byte) && byte != UInt8(ascii: ">")
                && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "<")
        }

        mutating func name() throws(ParseError) -> String {
            let start = index
            while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
            guard index > start else { throw fail("expected a name") }
            let full = String(decoding: bytes[start..<index], as: UTF8.self)
            if let colon = full.lastIndex(of: ":") { return String(full[full.index(after: colon)...]) }
            return full
        }

        /// At `<`; reads the element through its end tag.
        mutating func element(depth: Int) throws(ParseError) -> XMLTree {
            guard depth < XMLTree.maximumDepth else { throw fail("nested deeper than \(XMLTree.maximumDepth)") }
            index += 1
            let elementName = try name()
            // Attributes: name="value" or name='value', skipped.
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated start tag") }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                if starts(with: "/>") {
                    index += 2
                    return XMLTree(name: elementName)
                }
                _ = try name()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw fail("expected = in an attribute") }
                index += 1
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                    throw fail("expected a quoted attribute value")
                }
                let quote = bytes[index]
                index += 1
                while index < bytes.count, bytes[index] != quote { index += 1 }
                guard index < bytes.count else { throw fail("unterminated attribute value") }
                index += 1
            }
            var result = XMLTree(name: elementName)
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("unterminated element \(elementName)") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "<") {
                    if starts(with: "</") {
                        index += 2
                        let closing = try name()
                        skipWhitespace()
                        guard closing == elementName, index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                            throw fail("end tag \(closing) does not close \(elementName)")
                        }
                        index += 1
                        result.text = String(decoding: text, as: UTF8.self)
                        return result
                    } else if starts(with: "<![CDATA[") {
                        index += 9
                        let start = index
                        try skip(past: "]]>")
                        text.append(contentsOf: bytes[start..<(index - 3)])
                    } else if starts(with: "<!--") {
                        try skip(past: "-->")
                    } else if starts(with: "<?") {
                        try skip(past: "?>")
                    } else if starts(with: "<!") {
                        throw fail("unexpected markup declaration")
                    } else {
                        result.children.append(try element(depth: depth + 1))
                    }
                } else if byte == UInt8(ascii: "&") {
                    text.append(contentsOf: try reference())
                } else {
                    text.append(byte)
                    index += 1
                }
            }
        }

        /// At `&`: one of the five predefined entities or a character reference.
        mutating func reference() throws(ParseError) -> [UInt8] {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ";"), index - start < 12 { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: ";") else {
                index = start
                throw fail("unterminated entity reference")
            }
            let body = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
            index += 1
            switch body {
            case "amp": return [UInt8(ascii: "&")]
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default:
                var value: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    value = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    value = UInt32(body.dropFirst(), radix: 10)
                }
                guard let value, let scalar = Unicode.Scalar(value) else {
                    index = start
                    throw fail("unknown entity &\(body);")
                }
                return Array(String(Character(scalar)).utf8)
            }
        }
    }
}
