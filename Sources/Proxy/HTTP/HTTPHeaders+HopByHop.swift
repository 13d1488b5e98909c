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
    mutating func removeHopByHopFields() {
        for option in self[canonicalForm: "connection"] {
            self.remove(name: String(option))
        }
        let acceptsTrailers = self[canonicalForm: "te"].contains { $0.lowercased() == "trailers" }
        for name in Self.hopByHopNames {
            self.remove(name: name)
        }
        if acceptsTrailers {
            self.add(name: "te", value: "trailers")
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
