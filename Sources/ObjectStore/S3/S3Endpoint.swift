/// Where the S3 server is: `http://host[:port]` or `https://host[:port]` (a bracketed IPv6 literal allowed), with
/// no path — buckets are addressed path-style (`/bucket/key`), which MinIO, SeaweedFS and moto all serve and which
/// needs no wildcard DNS or certificate.
public struct S3Endpoint: Sendable, Equatable, CustomStringConvertible {
    public let isTLS: Bool
    public let host: String
    public let port: Int

    public init(_ url: String) throws(S3Error) {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            isTLS = true
            rest = url.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            isTLS = false
            rest = url.dropFirst(7)
        } else {
            throw .invalidRequest(reason: "endpoint \(url) is not an http:// or https:// URL")
        }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else {
                throw .invalidRequest(reason: "endpoint \(url) has a path; give the server's URL only (buckets are addressed path-style)")
            }
            authority = rest[..<slash]
        }
        guard !authority.contains("@"), !authority.contains("?"), !authority.contains("#") else {
            throw .invalidRequest(reason: "endpoint \(url) must be scheme://host[:port] only")
        }
        var hostPart = authority
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidRequest(reason: "endpoint \(url) has an unclosed IPv6 literal") }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidRequest(reason: "endpoint \(url) has junk after the IPv6 literal") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw .invalidRequest(reason: "endpoint \(url) has no host") }
        host = String(hostPart)
        if let portPart {
            guard let port = Int(portPart), (1...65535).contains(port) else {
                throw .invalidRequest(reason: "endpoint \(url) has an invalid port \(portPart)")
            }
            self.port = port
        } else {
            port = isTLS ? 443 : 80
        }
    }

    /// The `Host` field: the port only when it is not the scheme's default (RFC 9110 section 7.2), as botocore
    /// and curl send it — the signature covers it.
    public var hostField: String {
        port == (isTLS ? 443 : 80) ? host : "\(host):\(port)"
    }

    /// `scheme://host:port`, the prefix of every request URL.
    public var base: String { "\(isTLS ? "https" : "http")://\(host):\(port)" }

    public var description: String { "\(isTLS ? "https" : "http")://\(hostField)" }
}
