import NIOHTTP1

/// A request's `Range` served from a stored full response (RFC 9110 14): one byte range,
/// `first-last`, `first-` or `-suffix`.
///
/// A `Range` of another unit, or with several ranges, is ignored and the whole response
/// served (14.2 allows ignoring it); so is one whose `If-Range` does not match the stored
/// response (13.1.5: a strong `ETag` comparison, or a date equal to `Last-Modified`).
public enum ByteRange: Equatable, Sendable {
    /// Serve bytes `offset..<offset+length` with `206` and `Content-Range`.
    case partial(offset: Int, length: Int)
    /// `416` with `Content-Range: bytes */length`.
    case unsatisfiable
    /// Serve the whole response.
    case whole

    public static func select(request: HTTPHeaders, stored: HTTPHeaders, bodyLength: Int) -> ByteRange {
        let lines = request["range"]
        guard lines.count == 1, let spec = lines.first else { return .whole }
        if let ifRange = request.first(name: "if-range"), !ifRangeMatches(ifRange, stored: stored) {
            return .whole
        }
        let trimmed = spec.trimmingASCIISpaces()
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let set = trimmed.dropFirst(6)
        guard !set.contains(",") else { return .whole }
        let parts = set.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingASCIISpaces()
        let last = parts[1].trimmingASCIISpaces()
        if first.isEmpty {
            guard let suffix = digits(last) else { return .whole }
            guard suffix > 0, bodyLength > 0 else { return .unsatisfiable }
            let length = min(suffix, bodyLength)
            return .partial(offset: bodyLength - length, length: length)
        }
        guard let start = digits(first) else { return .whole }
        var end = bodyLength - 1
        if !last.isEmpty {
            guard let stated = digits(last), stated >= start else { return .whole }
            end = min(stated, bodyLength - 1)
        }
        guard start < bodyLength else { return .unsatisfiable }
        return .partial(offset: start, length: end - start + 1)
    }

    private static func digits(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    private static func ifRangeMatches(_ ifRange: String, stored: HTTPHeaders) -> Bool {
        let value = ifRange.trimmingASCIISpaces()
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            guard let etag = stored.first(name: "etag") else { return false }
            return EntityTag.strongMatch(String(value), etag)
        }
        guard let date = HTTPDate.parse(value), let modified = stored.first(name: "last-modified").flatMap(HTTPDate.parse) else {
            return false
        }
        return date == modified
    }
}
