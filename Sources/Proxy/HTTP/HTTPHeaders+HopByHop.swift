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
}
