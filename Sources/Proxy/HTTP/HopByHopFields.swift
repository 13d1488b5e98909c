import NIOHTTP1

/// Which fields of one message describe the connection rather than the message and so are
/// not forwarded (RFC 9110 7.6.1): the fixed hop-by-hop names (the list Go's
/// `httputil.ReverseProxy` strips, which sidekick uses) and every field named in `Connection`
/// ("a proxy or gateway MUST parse a received Connection header field before a message is
/// forwarded and, for each connection-option in this field, remove any header or trailer
/// field(s) from the message with the same name").
///
/// `TE: trailers` is kept, as Go does, so a backend knows the client accepts trailers.
///
/// Built with one scan of the fields, allocating only when `Connection` names extra fields,
/// because it runs for both heads of every proxied request.
struct HopByHopFields {
    static let names: [String] = [
        "connection", "proxy-connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Whether the message has any hop-by-hop field at all.
    private(set) var isEmpty = true
    /// Whether `TE` lists `trailers`, to be forwarded as `TE: trailers`.
    private(set) var acceptsTrailers = false
    /// Names listed in `Connection` that are not hop-by-hop names already.
    private var options: [Substring] = []

    init(of headers: HTTPHeaders) {
        for (name, value) in headers {
            guard let index = Self.index(of: name) else { continue }
            isEmpty = false
            switch index {
            case 0:
                for option in value.listElements {
                    if Self.index(of: option) == nil, !Self.equalsIgnoringCase(option, "close") {
                        options.append(option)
                    }
                }
            case 5:
                acceptsTrailers = acceptsTrailers
                    || value.listElements.contains { Self.equalsIgnoringCase($0, "trailers") }
            default:
                break
            }
        }
    }

    /// Whether the field called `name` stays behind.
    func excludes(_ name: String) -> Bool {
        guard !isEmpty else { return false }
        if Self.index(of: name) != nil { return true }
        return options.contains { Self.equalsIgnoringCase($0, name) }
    }

    /// The position of `name` in ``names``, compared without regard to case.
    static func index(of name: some StringProtocol) -> Int? {
        func index(_ position: Int) -> Int? {
            equalsIgnoringCase(name, names[position]) ? position : nil
        }
        switch name.utf8.count {
        case 2: return index(5)
        case 7: return index(6) ?? index(8)
        case 10: return index(0) ?? index(2)
        case 16: return index(1)
        case 17: return index(7)
        case 18: return index(3)
        case 19: return index(4)
        default: return nil
        }
    }

    /// The position of the field name `bytes` in ``names``, compared without regard to case.
    static func index(ofBytes bytes: UnsafeRawBufferPointer) -> Int? {
        func index(_ position: Int, _ name: StaticString) -> Int? {
            ASCII.equalsIgnoringCase(bytes, name) ? position : nil
        }
        switch bytes.count {
        case 2: return index(5, "te")
        case 7: return index(6, "trailer") ?? index(8, "upgrade")
        case 10: return index(0, "connection") ?? index(2, "keep-alive")
        case 16: return index(1, "proxy-connection")
        case 17: return index(7, "transfer-encoding")
        case 18: return index(3, "proxy-authenticate")
        case 19: return index(4, "proxy-authorization")
        default: return nil
        }
    }

    /// ASCII case-insensitive equality of two field names or tokens, without allocating.
    static func equalsIgnoringCase(_ text: some StringProtocol, _ other: String) -> Bool {
        guard text.utf8.count == other.utf8.count else { return false }
        return text.utf8.elementsEqual(other.utf8) { $0 == $1 || ASCII.lowercased($0) == ASCII.lowercased($1) }
    }
}
