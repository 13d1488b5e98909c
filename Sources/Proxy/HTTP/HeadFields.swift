/// What the field lines of one head say, gathered line by line as a parser reads them, and
/// where the lines are that a forwarded head may leave out (RFC 9112 5, 6; RFC 9110 7.6.1).
///
/// A forwarded head copies the lines it keeps as they came, in as many runs as there are
/// gaps: the parser notes the first four lines that may be left out, so the common head (none,
/// or one `Connection` line) is copied without being read again. Heads with more such lines,
/// or whose `Connection` names other fields, are filtered by name instead.
///
/// Offsets count from the start of the head's field lines. Heads are copied several times on
/// their way through the proxy, so this stays small: offsets of 32 bits, flags in a word.
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

        init(start: Int, count: Int) {
            guard start + count <= Int(Int32.max) else { return }
            self.start = Int32(start)
            self.count = Int32(count)
        }
    }

    private struct Flags: OptionSet {
        var rawValue: UInt16
        static let hasTransferEncoding = Flags(rawValue: 1 << 0)
        static let isChunked = Flags(rawValue: 1 << 1)
        static let connectionClose = Flags(rawValue: 1 << 2)
        static let connectionKeepAlive = Flags(rawValue: 1 << 3)
        static let connectionUpgrade = Flags(rawValue: 1 << 4)
        static let connectionNamesFields = Flags(rawValue: 1 << 5)
        static let acceptsTrailers = Flags(rawValue: 1 << 6)
        /// `Connection` names a field the proxy writes anew for the backend.
        static let namesForwardedFor = Flags(rawValue: 1 << 7)
        static let namesRealIP = Flags(rawValue: 1 << 8)
        static let namesForwardedHost = Flags(rawValue: 1 << 9)
        static let namesForwardedProto = Flags(rawValue: 1 << 10)
        static let rewritesContentLength = Flags(rawValue: 1 << 11)

        init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        init(namingLinesOf omission: Omission) {
            switch omission {
            case .hopByHop: self = []
            case .forwardedFor: self = .namesForwardedFor
            case .realIP: self = .namesRealIP
            case .forwardedHost: self = .namesForwardedHost
            case .forwardedProto: self = .namesForwardedProto
            }
        }
    }

    /// The most fields a `Connection` field may name besides the ones the proxy knows: each
    /// is compared with every line of the head, so a head naming thousands would cost the event
    /// loop seconds; no real client names more than a few.
    static let maxNamedFields = 64

    private(set) var contentLength: Int?
    private var flags: Flags = []
    /// Transfer codings listed, and how many of them are `chunked` (counts stop at 255).
    private(set) var transferCodings: UInt8 = 0
    private(set) var chunkedCodings: UInt8 = 0
    /// How many `Host` fields there are (a request must have at most one, RFC 9112 3.2; the
    /// count stops at 255).
    private(set) var hostCount: UInt8 = 0
    /// How many names of fields the proxy does not know `Connection` lists.
    private var namedFieldCount = 0
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
    /// `Content-Length` was not one field holding a bare number after a single space: a list
    /// of equal lengths, equal fields repeated, or tabs or spaces around the number. It is
    /// forwarded as one field, `content-length: N`, rather than as it came, which a recipient
    /// could read differently (RFC 9110 8.6, RFC 9112 6.3).
    var rewritesContentLength: Bool { flags.contains(.rewritesContentLength) }


    /// Where the values of the first `Host` and `Upgrade` fields are.
    var host: Range<Int>? { hostValue.range }
    var upgrade: Range<Int>? { upgradeValue.range }

    /// How far ``readLines(in:fieldsStart:limit:progress:)`` got in a head not ended yet.
    struct LineProgress {
        /// Where the line being read starts.
        var position: Int
        /// Where its colon is, once its name has been read.
        var colon = -1
        /// How far its bytes are checked.
        var checked = 0

        init(position: Int) {
            self.position = position
            self.checked = position
        }
    }

    /// Reads the field lines of a head in `bytes`, from where `progress` says on, up to the
    /// empty line that ends the head, noting what they say (RFC 9112 5).
    ///
    /// Each line is read in one pass: its name byte by byte against the token table, its value
    /// by ``HTTP1Syntax/scanLine(in:from:)``, and nothing is read twice, however the head
    /// arrives.
    ///
    /// - Parameters:
    ///   - fieldsStart: where the first field line starts; offsets noted count from there.
    ///   - limit: the most bytes the head may take, its empty line included.
    /// - Returns: the length of the head, its empty line included, once it has ended; `nil`
    ///   while more bytes are needed.
    mutating func readLines(in bytes: UnsafeRawBufferPointer, fieldsStart: Int, limit: Int, progress: inout LineProgress) throws -> Int? {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return nil }
        var position = progress.position
        var colon = progress.colon
        var index = progress.checked
        func unfinished() throws -> Int? {
            guard count <= limit else { throw HTTP1ParseError(description: "head larger than \(limit) bytes") }
            progress = LineProgress(position: position)
            progress.colon = colon
            progress.checked = index
            return nil
        }
        func byte(_ at: Int) -> UInt8 {
            base.load(fromByteOffset: at, as: UInt8.self)
        }
        while true {
            if colon < 0 {
                while index < count, ASCII.isTokenCharacter(byte(index)) { index += 1 }
                guard index < count else { return try unfinished() }
                guard byte(index) == UInt8(ascii: ":"), index > position else {
                    // Not a field line: the empty line that ends the head, or an error.
                    if index == position {
                        switch try HTTP1Syntax.scanLine(in: bytes, from: index) {
                        case .ended(let end) where end == position:
                            guard end + 2 <= limit else { throw HTTP1ParseError(description: "head larger than \(limit) bytes") }
                            progress = LineProgress(position: end + 2)
                            return end + 2
                        case .unfinished(let checked) where checked == position:
                            return try unfinished()
                        default:
                            break
                        }
                    }
                    throw HTTP1ParseError(description: "invalid field line (obs-fold, a space before the colon or a bad name)")
                }
                colon = index
                index += 1
            }
            switch try HTTP1Syntax.scanLine(in: bytes, from: index) {
            case .ended(let end):
                index = end
            case .unfinished(let checked):
                index = checked
                return try unfinished()
            }
            guard index + 2 <= limit else { throw HTTP1ParseError(description: "head larger than \(limit) bytes") }
            let name = UnsafeRawBufferPointer(start: base + position, count: colon - position)
            if let field = KnownField(name: name) {
                var valueStart = colon + 1
                var valueEnd = index
                while valueStart < valueEnd, ASCII.isSpace(byte(valueStart)) { valueStart += 1 }
                while valueEnd > valueStart, ASCII.isSpace(byte(valueEnd - 1)) { valueEnd -= 1 }
                try note(
                    field,
                    value: UnsafeRawBufferPointer(start: base + valueStart, count: valueEnd - valueStart),
                    valueAt: valueStart - fieldsStart,
                    line: (position - fieldsStart)..<(index + 2 - fieldsStart)
                )
            }
            position = index + 2
            colon = -1
            index = position
        }
    }

    /// Notes what a field the proxy knows says; `valueAt` and `line` count from the start of
    /// the field lines, the line with its CRLF.
    private mutating func note(_ field: KnownField, value: UnsafeRawBufferPointer, valueAt: Int, line: Range<Int>) throws {
        switch field {
        case .contentLength:
            if contentLength == nil, let length = HTTP1Syntax.digits(value) {
                // The common case, one bare number, read without walking a list. It is
                // forwarded as it came when one space separates it from the colon and nothing
                // follows it: `Content-Length` is 14 bytes, so the value starts 16 bytes into
                // its line, after the colon and one byte of white space.
                contentLength = length
                let isTidy = valueAt == line.lowerBound + 16 && valueAt + value.count == line.upperBound - 2
                    && value.baseAddress!.load(fromByteOffset: -1, as: UInt8.self) == UInt8(ascii: " ")
                if !isTidy { flags.insert(.rewritesContentLength) }
            } else {
                contentLength = try HTTP1Syntax.contentLength(value, current: contentLength)
                flags.insert(.rewritesContentLength)
            }
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
                } else if let known = KnownField(name: option) {
                    // Fields whose treatment is fixed (framing, `Host`) stay; the others are
                    // hop-by-hop already or written anew by the proxy.
                    if let omission = known.omission {
                        flags.insert(Flags(namingLinesOf: omission))
                    }
                } else {
                    flags.insert(.connectionNamesFields)
                    namedFieldCount += 1
                }
            }
            guard namedFieldCount <= Self.maxNamedFields else {
                throw HTTP1ParseError(description: "Connection names more than \(Self.maxNamedFields) fields")
            }
        case .te:
            ASCII.forEachListElement(value) { coding in
                if ASCII.equalsIgnoringCase(coding, "trailers") { flags.insert(.acceptsTrailers) }
            }
        case .upgrade where upgradeValue.start < 0:
            upgradeValue = ValueRange(start: valueAt, count: value.count)
        case .host:
            hostCount = Self.counted(hostCount)
            if hostValue.start < 0 { hostValue = ValueRange(start: valueAt, count: value.count) }
        default:
            break
        }
        if let omission = field.omission {
            spans.append(start: line.lowerBound, end: line.upperBound, omission: omission)
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

    /// Whether `Connection` names the fields left out for `omission`, which then go whatever
    /// else holds (RFC 9110 7.6.1); hop-by-hop fields go anyway.
    private func connectionNames(_ omission: Omission) -> Bool {
        let named = Flags(namingLinesOf: omission)
        return !named.isEmpty && flags.contains(named)
    }

    /// Calls `body` with each run of consecutive lines of `lines`, this head's field lines,
    /// that a forwarded head keeps: all but those whose omission `omits` accepts, those
    /// `Connection` names, `Content-Length` when it is rewritten (see
    /// ``rewritesContentLength``) and, with `omittingHost`, `Host`.
    func forEachKeptRun(
        of lines: UnsafeRawBufferPointer,
        omittingHost: Bool = false,
        omitting omits: (Omission) -> Bool,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        func isLeftOut(_ omission: Omission) -> Bool {
            omits(omission) || connectionNames(omission)
        }
        var runStart = 0
        func leaveOut(_ start: Int, _ end: Int) {
            if start > runStart {
                body(UnsafeRawBufferPointer(rebasing: lines[runStart..<start]))
            }
            runStart = end
        }
        if !spans.overflowed, !connectionNamesFields, !rewritesContentLength, !omittingHost {
            for index in 0..<Int(spans.count) {
                let span = spans[index]
                if isLeftOut(span.omission) {
                    leaveOut(Int(span.start), Int(span.end))
                }
            }
        } else {
            let named = connectionNamesFields ? Self.namedInConnection(lines) : []
            Self.forEachLine(of: lines) { name, start, end in
                let omitted: Bool
                if let field = KnownField(name: name) {
                    switch field {
                    case .contentLength: omitted = rewritesContentLength
                    case .host: omitted = omittingHost
                    default: omitted = field.omission.map(isLeftOut) ?? false
                    }
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

    /// Calls `body` with the value of each line whose omission is `omission`, in order; with
    /// none when `Connection` names those lines, which then do not count.
    func forEachValue(of omission: Omission, in lines: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard !connectionNames(omission) else { return }
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
                let isNew = !named.contains { ASCII.equalsIgnoringCase($0, option) }
                if isNew, KnownField(name: option) == nil, !ASCII.equalsIgnoringCase(option, "close") {
                    named.append(option)
                }
            }
        }
        return named
    }
}
