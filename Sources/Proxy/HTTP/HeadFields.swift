/// What the field lines of one head say, gathered line by line as a parser reads them, and
/// where the lines are that a forwarded head may leave out (RFC 9112 5, 6; RFC 9110 7.6.1).
///
/// A forwarded head copies the lines it keeps as they came, in as many runs as there are
/// gaps: the parser notes the first four lines that may be left out, so the common head (none,
/// or one `Connection` line) is copied without being read again. Heads with more such lines,
/// or whose `Connection` names other fields, are filtered by name instead.
///
/// Offsets count from the start of the head's field lines. Heads are copied several times on
/// their way through the proxy, so this stays small: offsets of 32 bits, flags in a byte.
struct HeadFields {
    /// Why a forwarded head may leave a line out.
    enum Omission {
        /// A hop-by-hop field, never forwarded.
        case hopByHop
        /// `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Host` and `X-Forwarded-Proto`, which the
        /// proxy may write anew.
        case forwardedFor
        case realIP
        case forwardedHost
        case forwardedProto
    }

    /// A field line, CRLF included, that a forwarded head may leave out.
    struct Span {
        var start: Int32
        var end: Int32
        var omission: Omission
    }

    /// The first four lines that may be left out, in order.
    private struct Spans {
        private var first = Span(start: 0, end: 0, omission: .hopByHop)
        private var second = Span(start: 0, end: 0, omission: .hopByHop)
        private var third = Span(start: 0, end: 0, omission: .hopByHop)
        private var fourth = Span(start: 0, end: 0, omission: .hopByHop)
        private(set) var count: UInt8 = 0
        /// More lines, or lines past 2 GiB, than this can hold.
        private(set) var overflowed = false

        mutating func append(start: Int, end: Int, omission: Omission) {
            guard count < 4, end <= Int(Int32.max) else {
                overflowed = true
                return
            }
            let span = Span(start: Int32(start), end: Int32(end), omission: omission)
            switch count {
            case 0: first = span
            case 1: second = span
            case 2: third = span
            default: fourth = span
            }
            count += 1
        }

        subscript(index: Int) -> Span {
            switch index {
            case 0: return first
            case 1: return second
            case 2: return third
            default: return fourth
            }
        }
    }

    /// Where a value is among the field lines.
    private struct ValueRange {
        var start: Int32 = -1
        var count: Int32 = 0

        var range: Range<Int>? {
            start < 0 ? nil : Int(start)..<Int(start) + Int(count)
        }

        init() {}

        init(of value: UnsafeRawBufferPointer, in line: UnsafeRawBufferPointer, at offset: Int) {
            let start = offset + line.baseAddress!.distance(to: value.baseAddress!)
            guard start + value.count <= Int(Int32.max) else { return }
            self.start = Int32(start)
            self.count = Int32(value.count)
        }
    }

    private struct Flags: OptionSet {
        var rawValue: UInt8
        static let hasTransferEncoding = Flags(rawValue: 1 << 0)
        static let isChunked = Flags(rawValue: 1 << 1)
        static let connectionClose = Flags(rawValue: 1 << 2)
        static let connectionKeepAlive = Flags(rawValue: 1 << 3)
        static let connectionUpgrade = Flags(rawValue: 1 << 4)
        static let connectionNamesFields = Flags(rawValue: 1 << 5)
        static let acceptsTrailers = Flags(rawValue: 1 << 6)
    }

    private(set) var contentLength: Int?
    private var flags: Flags = []
    /// Transfer codings listed, and how many of them are `chunked` (counts stop at 255).
    private(set) var transferCodings: UInt8 = 0
    private(set) var chunkedCodings: UInt8 = 0
    /// How many `Host` fields there are (a request must have at most one, RFC 9112 3.2; the
    /// count stops at 255).
    private(set) var hostCount: UInt8 = 0
    private var hostValue = ValueRange()
    private var upgradeValue = ValueRange()
    private var spans = Spans()

    var hasTransferEncoding: Bool { flags.contains(.hasTransferEncoding) }
    /// `chunked` is the final transfer coding.
    var isChunked: Bool { flags.contains(.isChunked) }
    /// `Connection` lists `close`, `keep-alive`, `upgrade`.
    var connectionClose: Bool { flags.contains(.connectionClose) }
    var connectionKeepAlive: Bool { flags.contains(.connectionKeepAlive) }
    var connectionUpgrade: Bool { flags.contains(.connectionUpgrade) }
    /// `Connection` names a field the proxy does not know, which is then not forwarded either.
    var connectionNamesFields: Bool { flags.contains(.connectionNamesFields) }
    /// `TE` lists `trailers`.
    var acceptsTrailers: Bool { flags.contains(.acceptsTrailers) }
    /// Where the values of the first `Host` and `Upgrade` fields are.
    var host: Range<Int>? { hostValue.range }
    var upgrade: Range<Int>? { upgradeValue.range }

    /// Checks one field line, given without its CRLF and found `offset` bytes into the field
    /// lines, and notes what it says.
    mutating func read(_ line: UnsafeRawBufferPointer, at offset: Int) throws {
        let (name, value) = try HTTP1Syntax.checkedField(line)
        guard let field = KnownField(name: name) else { return }
        switch field {
        case .contentLength:
            contentLength = try HTTP1Syntax.contentLength(value, current: contentLength)
        case .transferEncoding:
            flags.insert(.hasTransferEncoding)
            ASCII.forEachListElement(value) { coding in
                transferCodings = Self.counted(transferCodings)
                if ASCII.equalsIgnoringCase(coding, "chunked") {
                    flags.insert(.isChunked)
                    chunkedCodings = Self.counted(chunkedCodings)
                } else {
                    flags.remove(.isChunked)
                }
            }
        case .connection:
            ASCII.forEachListElement(value) { option in
                if ASCII.equalsIgnoringCase(option, "close") {
                    flags.insert(.connectionClose)
                } else if ASCII.equalsIgnoringCase(option, "keep-alive") {
                    flags.insert(.connectionKeepAlive)
                } else if ASCII.equalsIgnoringCase(option, "upgrade") {
                    flags.insert(.connectionUpgrade)
                } else if KnownField(name: option) == nil {
                    flags.insert(.connectionNamesFields)
                }
            }
        case .te:
            ASCII.forEachListElement(value) { coding in
                if ASCII.equalsIgnoringCase(coding, "trailers") { flags.insert(.acceptsTrailers) }
            }
        case .upgrade where upgradeValue.start < 0:
            upgradeValue = ValueRange(of: value, in: line, at: offset)
        case .host:
            hostCount = Self.counted(hostCount)
            if hostValue.start < 0 { hostValue = ValueRange(of: value, in: line, at: offset) }
        default:
            break
        }
        if let omission = field.omission {
            spans.append(start: offset, end: offset + line.count + 2, omission: omission)
        }
    }

    private static func counted(_ count: UInt8) -> UInt8 {
        count == .max ? count : count + 1
    }

    /// Whether the connection stays open after the message, as NIO reads it: `close` wins,
    /// then `keep-alive`, else HTTP/1.1 keeps it open (RFC 9112 9.3).
    func isKeepAlive(major: Int, minor: Int) -> Bool {
        if connectionClose { return false }
        return connectionKeepAlive || (major == 1 && minor >= 1)
    }

    // MARK: Forwarding

    /// Calls `body` with each run of consecutive lines of `lines`, this head's field lines,
    /// that a forwarded head keeps: all but those whose omission `omits` accepts and, when
    /// `Connection` names fields, those fields.
    func forEachKeptRun(of lines: UnsafeRawBufferPointer, omitting omits: (Omission) -> Bool, _ body: (UnsafeRawBufferPointer) -> Void) {
        var runStart = 0
        func leaveOut(_ start: Int, _ end: Int) {
            if start > runStart {
                body(UnsafeRawBufferPointer(rebasing: lines[runStart..<start]))
            }
            runStart = end
        }
        if !spans.overflowed, !connectionNamesFields {
            for index in 0..<Int(spans.count) {
                let span = spans[index]
                if omits(span.omission) {
                    leaveOut(Int(span.start), Int(span.end))
                }
            }
        } else {
            let named = connectionNamesFields ? Self.namedInConnection(lines) : []
            Self.forEachLine(of: lines) { name, start, end in
                let omitted: Bool
                if let field = KnownField(name: name) {
                    omitted = field.omission.map(omits) ?? false
                } else {
                    omitted = named.contains { ASCII.equalsIgnoringCase(name, $0) }
                }
                if omitted {
                    leaveOut(start, end)
                }
            }
        }
        if runStart < lines.count {
            body(UnsafeRawBufferPointer(rebasing: lines[runStart...]))
        }
    }

    /// Calls `body` with the value of each line whose omission is `omission`, in order.
    func forEachValue(of omission: Omission, in lines: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        func value(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
            ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: lines[start..<end - 2])).value
        }
        if !spans.overflowed {
            for index in 0..<Int(spans.count) where spans[index].omission == omission {
                body(value(Int(spans[index].start), Int(spans[index].end)))
            }
        } else {
            Self.forEachLine(of: lines) { name, start, end in
                if KnownField(name: name)?.omission == omission {
                    body(value(start, end))
                }
            }
        }
    }

    /// Calls `body` with the name, start and end (CRLF included) of each checked line.
    static func forEachLine(of lines: UnsafeRawBufferPointer, _ body: (_ name: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Void) {
        var start = 0
        while let lineEnd = ASCII.lineEnd(in: lines, from: start), lineEnd >= start {
            var colon = start
            while lines[colon] != UInt8(ascii: ":") { colon += 1 }
            body(UnsafeRawBufferPointer(rebasing: lines[start..<colon]), start, lineEnd + 2)
            start = lineEnd + 2
        }
    }

    /// The names `Connection` lists that are not fields the proxy knows (RFC 9110 7.6.1: "for
    /// each connection-option in this field, remove any header or trailer field(s) from the
    /// message with the same name").
    private static func namedInConnection(_ lines: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var named: [UnsafeRawBufferPointer] = []
        forEachLine(of: lines) { name, start, end in
            guard KnownField(name: name) == .connection else { return }
            let value = ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: lines[start..<end - 2])).value
            ASCII.forEachListElement(value) { option in
                if KnownField(name: option) == nil, !ASCII.equalsIgnoringCase(option, "close") {
                    named.append(option)
                }
            }
        }
        return named
    }
}
