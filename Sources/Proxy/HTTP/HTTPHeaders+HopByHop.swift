import NIOHTTP1

extension HTTPHeaders {
    /// Removes the fields ``HopByHopFields`` names, keeping `TE: trailers`.
    mutating func removeHopByHopFields() {
        let hopByHop = HopByHopFields(of: self)
        guard !hopByHop.isEmpty else { return }
        var kept = HTTPHeaders()
        for (name, value) in self where !hopByHop.excludes(name) {
            kept.add(name: name, value: value)
        }
        if hopByHop.acceptsTrailers {
            kept.add(name: "te", value: "trailers")
        }
        self = kept
    }

    /// Whether the message body is chunked: `chunked` is the final transfer coding (RFC 9112 6.3).
    /// Runs for every request, so it scans without allocating.
    var isChunked: Bool {
        var lastCoding: Substring?
        for (name, value) in self where HopByHopFields.equalsIgnoringCase(name, "transfer-encoding") {
            for coding in value.listElements {
                lastCoding = coding
            }
        }
        return lastCoding.map { HopByHopFields.equalsIgnoringCase($0, "chunked") } ?? false
    }

    /// The protocol asked for with `Upgrade`, if `Connection` carries the `upgrade` option.
    var upgradeProtocol: String? {
        let asksToUpgrade = self.contains { name, value in
            HopByHopFields.equalsIgnoringCase(name, "connection")
                && value.listElements.contains { HopByHopFields.equalsIgnoringCase($0, "upgrade") }
        }
        return asksToUpgrade ? self.first(name: "upgrade") : nil
    }
}
