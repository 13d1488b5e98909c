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
/// For messages held as NIO's `HTTPHeaders` (HTTP/2 responses, interim responses); heads read
/// off the wire are filtered as bytes (see ``HeadFields``). Built with one scan of the fields,
/// allocating only when `Connection` names extra fields.
struct HopByHopFields {
    /// Whether the message has any hop-by-hop field at all.
    private(set) var isEmpty = true
    /// Whether `TE` lists `trailers`, to be forwarded as `TE: trailers`.
    private(set) var acceptsTrailers = false
    /// Names listed in `Connection` other than `close`, `Content-Length` and `Host`.
    private var options: [Substring] = []

    init(of headers: HTTPHeaders) {
        for (name, value) in headers {
            guard let field = KnownField(text: name), field.isHopByHop else { continue }
            isEmpty = false
            switch field {
            case .connection:
                for option in value.listElements where !Self.equalsIgnoringCase(option, "close") {
                    // Framing and `Host` stay whatever `Connection` says, as on the HTTP/1 path.
                    switch KnownField(text: option) {
                    case .contentLength?, .host?: continue
                    default: options.append(option)
                    }
                }
            case .te:
                acceptsTrailers = acceptsTrailers || value.listElements.contains { Self.equalsIgnoringCase($0, "trailers") }
            default:
                break
            }
        }
    }

    /// Whether the field called `name` stays behind.
    func excludes(_ name: String) -> Bool {
        guard !isEmpty else { return false }
        if KnownField(text: name)?.isHopByHop == true { return true }
        return options.contains { Self.equalsIgnoringCase($0, name) }
    }

    /// ASCII case-insensitive equality of two field names or tokens, without allocating.
    static func equalsIgnoringCase(_ text: some StringProtocol, _ other: String) -> Bool {
        guard text.utf8.count == other.utf8.count else { return false }
        return text.utf8.elementsEqual(other.utf8) { $0 == $1 || ASCII.lowercased($0) == ASCII.lowercased($1) }
    }
}
