import Crypto
import NIOHTTP1

/// The primary cache key of a request: its target URI, independent of the method (RFC 9111
/// 2: "the request method and target URI"; GET and HEAD share entries, so the method is not
/// part of it), with the scheme and host lower-cased and the path and query exactly as sent,
/// parameters in their order.
///
/// A stored object's name is the SHA-256 of the key, as sidekick names its S3 objects; a
/// response with `Vary` is stored under the SHA-256 of the key and the request's values of
/// the fields it names (its secondary key, RFC 9111 4.1).
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// `scheme://host/path?query`.
    public let uri: String

    public init(uri: String) {
        self.uri = uri
    }

    /// The key of a request for `target` (origin or absolute form) with `Host` `host`,
    /// received over `scheme`; `nil` when it has no usable target or host.
    public init?(scheme: String, host: String?, target: String) {
        if target.utf8.first == UInt8(ascii: "/") {
            guard let host, !host.isEmpty else { return nil }
            uri = Self.originFormURI(scheme: scheme, host: host, target: target)
            return
        }
        // Absolute form (RFC 9112 3.2.2): the target's own scheme and authority.
        guard let separator = Self.schemeSeparator(in: target) else { return nil }
        let targetScheme = target[..<separator].lowercased()
        guard targetScheme == "http" || targetScheme == "https" else { return nil }
        let rest = target[target.index(separator, offsetBy: 3)...]
        let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<pathStart].lowercased()
        guard !authority.isEmpty else { return nil }
        var path = String(rest[pathStart...])
        if !path.hasPrefix("/") { path = "/" + path }
        uri = "\(targetScheme)://\(authority)\(path)"
    }

    /// `scheme://host` with ASCII lower-cased, then `target` as sent, written into one string of the final size: a
    /// hit builds this for every request, where interpolation or appends cost several times as much.
    private static func originFormURI(scheme: String, host: String, target: String) -> String {
        var scheme = scheme
        var host = host
        var target = target
        return scheme.withUTF8 { scheme in
            host.withUTF8 { host in
                target.withUTF8 { target in
                    String(unsafeUninitializedCapacity: scheme.count + 3 + host.count + target.count) { buffer in
                        var index = 0
                        for byte in scheme {
                            buffer[index] = ASCII.lowercased(byte)
                            index += 1
                        }
                        buffer[index] = UInt8(ascii: ":")
                        buffer[index + 1] = UInt8(ascii: "/")
                        buffer[index + 2] = UInt8(ascii: "/")
                        index += 3
                        for byte in host {
                            buffer[index] = ASCII.lowercased(byte)
                            index += 1
                        }
                        UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[index...])).copyMemory(from: UnsafeRawBufferPointer(target))
                        return index + target.count
                    }
                }
            }
        }
    }

    /// The scheme and authority, for same-origin checks (RFC 9111 4.4).
    public var origin: Substring {
        guard let separator = Self.schemeSeparator(in: uri) else { return uri[...] }
        let rest = uri[uri.index(separator, offsetBy: 3)...]
        return uri[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
    }

    /// The name of the object holding the response for this key, or the list of the fields
    /// its responses vary on.
    public var objectName: CacheObjectName {
        Self.name(of: uri)
    }

    /// The name of the object holding the response for this key selected by `values`, the
    /// request's normalised values of the fields named by the stored `Vary`: the key's own
    /// name, `-`, and the SHA-256 of the key and the values (see ``CacheObjectName``).
    public func objectName(variant values: [VaryValue]) -> CacheObjectName {
        var text = uri
        for value in values {
            text += "\u{0}\(value.name):\(value.value ?? "\u{1}")"
        }
        return CacheObjectName(variantOf: objectName, hex: Self.sha256Hex(of: text))
    }

    static func name(of text: String) -> CacheObjectName {
        CacheObjectName(checkedHex: sha256Hex(of: text))
    }

    /// The 64 lower-case hex digits of the SHA-256 of `text`.
    private static func sha256Hex(of text: String) -> String {
        var text = text
        let digest = text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return String(unsafeUninitializedCapacity: 2 * SHA256.byteCount) { buffer in
            var index = 0
            for byte in digest {
                buffer[index] = hexDigits[Int(byte >> 4)]
                buffer[index + 1] = hexDigits[Int(byte & 0xf)]
                index += 2
            }
            return index
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public var description: String { uri }

    /// Where `://` starts in `text`.
    private static func schemeSeparator(in text: String) -> String.Index? {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return nil }
        return colon
    }
}

/// A request's value of one field named by a response's `Vary`: `nil` when the request had
/// none (a request without the field matches only a stored request without it, RFC 9111 4.1).
public struct VaryValue: Hashable, Sendable {
    public var name: String
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }

    /// The field names of `headers`' `Vary` lines, lower-cased, sorted, once each; `nil` when
    /// one is `*` (such a response never matches, RFC 9111 4.1).
    public static func fieldNames(in headers: HTTPHeaders) -> [String]? {
        var names = Set<String>()
        for line in headers[canonicalForm: "vary"] {
            let name = line.trimmingASCIISpaces().lowercased()
            if name == "*" { return nil }
            if !name.isEmpty { names.insert(name) }
        }
        return names.sorted()
    }

    /// `request`'s values of the fields `names`, each normalised (its lines combined, the
    /// whitespace around commas dropped, RFC 9111 4.1 allows normalising).
    public static func values(of names: [String], in request: HTTPHeaders) -> [VaryValue] {
        names.map { name in
            let lines = request[canonicalForm: name]
            guard !lines.isEmpty else { return VaryValue(name: name, value: nil) }
            return VaryValue(name: name, value: lines.map { String($0.trimmingASCIISpaces()) }.joined(separator: ","))
        }
    }
}
