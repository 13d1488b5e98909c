import NIOHTTP1

extension HTTPHeaders {
    /// Fields that describe one connection rather than the message, and so must not be forwarded
    /// (RFC 9110 7.6.1; the list is the one Go's `httputil.ReverseProxy` strips, which sidekick uses).
    static let hopByHopNames: [String] = [
        "connection", "proxy-connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Removes hop-by-hop fields, including every field named in `Connection` (RFC 9110 7.6.1:
    /// "a proxy or gateway MUST parse a received Connection header field before a message is
    /// forwarded and, for each connection-option in this field, remove any header or trailer
    /// field(s) from the message with the same name").
    ///
    /// `TE: trailers` is kept, as Go does, so a backend knows the client accepts trailers.
    ///
    /// This runs twice per proxied request, so it scans the fields once and removes only the
    /// names it found; most messages carry one hop-by-hop field (`Connection`) or none.
    mutating func removeHopByHopFields() {
        var present: UInt16 = 0
        var options: [Substring] = []
        var acceptsTrailers = false
        for (name, value) in self {
            guard let index = Self.hopByHopIndex(of: name) else { continue }
            present |= 1 << index
            switch index {
            case 0:
                for token in value.split(separator: ",") {
                    let option = token.trimmingASCIISpaces()
                    if !option.isEmpty, Self.hopByHopIndex(of: option) == nil, !Self.equalsIgnoringCase(option, "close") {
                        options.append(option)
                    }
                }
            case 5:
                acceptsTrailers = acceptsTrailers
                    || value.split(separator: ",").contains { Self.equalsIgnoringCase($0.trimmingASCIISpaces(), "trailers") }
            default:
                break
            }
        }
        guard present != 0 else { return }
        for index in Self.hopByHopNames.indices where present & (1 << index) != 0 {
            self.remove(name: Self.hopByHopNames[index])
        }
        for option in options {
            self.remove(name: String(option))
        }
        if acceptsTrailers {
            self.add(name: "te", value: "trailers")
        }
    }

    /// The position of `name` in ``hopByHopNames``, compared without regard to case.
    static func hopByHopIndex(of name: some StringProtocol) -> Int? {
        func index(_ position: Int) -> Int? {
            equalsIgnoringCase(name, hopByHopNames[position]) ? position : nil
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

    /// ASCII case-insensitive equality with a lower-case `lowercase`, without allocating.
    static func equalsIgnoringCase(_ text: some StringProtocol, _ lowercase: String) -> Bool {
        text.utf8.elementsEqual(lowercase.utf8) { byte, lower in
            byte == lower || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") && byte + 32 == lower)
        }
    }

    /// Whether the message body is chunked: `chunked` is the final transfer coding (RFC 9112 6.3).
    var isChunked: Bool {
        self[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked"
    }

    /// The protocol asked for with `Upgrade`, if `Connection` carries the `upgrade` option.
    var upgradeProtocol: String? {
        guard self[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" }) else { return nil }
        return self.first(name: "upgrade")
    }
}
