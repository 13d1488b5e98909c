import Foundation

/// A route's path below `/v1/<role>`, such as `/kv/{key}`: literal segments and `{name}` parameters, matched
/// against a request's path one `/`-separated segment at a time.
///
/// A request's segments are split on the slashes it sent and then percent-decoded (RFC 3986 section 2.1), so a
/// parameter can hold a slash sent as `%2F` (`/kv/a%2Fb` gives `key` = `a/b`) and a literal matches however its
/// unreserved characters were encoded (section 6.2.2.2). A parameter matches one non-empty segment; there is no
/// wildcard over several segments, so a key with slashes must be sent encoded. A trailing slash is a segment of its
/// own: `/members/` is not `/members`.
struct AdminRoutePattern: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]

    /// `text` starts with `/`; a segment is a literal or a whole `{name}`, names unique. Routes are declared in code,
    /// so a malformed one is a programming error.
    init(_ text: String) {
        precondition(text.hasPrefix("/"), "admin route '\(text)' does not start with /")
        var names: Set<String> = []
        segments = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { part in
            if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
                let name = String(part.dropFirst().dropLast())
                precondition(!name.contains("{") && !name.contains("}"), "admin route '\(text)': bad parameter '\(part)'")
                precondition(names.insert(name).inserted, "admin route '\(text)': parameter '\(name)' twice")
                return .parameter(name)
            }
            precondition(!part.contains("{") && !part.contains("}"), "admin route '\(text)': a parameter must be a whole segment")
            return .literal(String(part))
        }
    }

    /// The segments of a request's path (starting with `/`), each percent-decoded; nil when one is not valid
    /// percent-encoded UTF-8.
    static func decodedSegments(of path: String) -> [String]? {
        var decoded: [String] = []
        for part in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let segment = part.contains("%") ? String(part).removingPercentEncoding : String(part) else { return nil }
            decoded.append(segment)
        }
        return decoded
    }

    /// The parameters, by name, when `path` (as ``decodedSegments(of:)`` gives it) matches.
    func match(_ path: [String]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let literal):
                guard literal == part else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = part
            }
        }
        return parameters
    }

    /// Whether both match the same paths, whatever their parameters are called: adding a route replaces one of the
    /// same shape and method.
    func hasSameShape(as other: AdminRoutePattern) -> Bool {
        shape == other.shape
    }

    private var shape: [String?] {
        segments.map { if case .literal(let literal) = $0 { literal } else { nil } }
    }

    /// Whether this pattern wins over `other` when both match a path: at the first segment where they differ, a
    /// literal beats a parameter, so `/kv/_keys` is reached even beside `/kv/{key}`.
    func isMoreSpecific(than other: AdminRoutePattern) -> Bool {
        for (mine, theirs) in zip(segments, other.segments) {
            switch (mine, theirs) {
            case (.literal, .parameter): return true
            case (.parameter, .literal): return false
            default: continue
            }
        }
        return false
    }

    var description: String {
        "/" + segments.map { switch $0 { case .literal(let text): text; case .parameter(let name): "{\(name)}" } }.joined(separator: "/")
    }
}
