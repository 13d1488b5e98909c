/// An application a backend host serves and announces to the cluster, as scrimplb's `Application`: load balancers
/// expose it on `listenPort` for its `domains` and send its requests to the host's `applicationPort`.
///
/// scrimplb's rules are kept (its `config.go`): at least one domain, and no `listenPort` 80, which the load
/// balancer keeps for its redirect of plain HTTP to HTTPS.
public struct Application: Sendable, Hashable, Codable {
    public enum TransportProtocol: String, Sendable, Hashable, Codable, CaseIterable {
        case http
        case https
        case tcp
    }

    public var name: String
    /// The port load balancers expose the application on.
    public var listenPort: Int
    /// The port on the announcing host the application listens on.
    public var applicationPort: Int
    public var transport: TransportProtocol
    public var domains: [String]

    public init(name: String, listenPort: Int, applicationPort: Int, transport: TransportProtocol, domains: [String]) {
        self.name = name
        self.listenPort = listenPort
        self.applicationPort = applicationPort
        self.transport = transport
        self.domains = domains
    }

    /// What is wrong with this application, each as one sentence naming the field; empty when it can be announced.
    public var problems: [String] {
        var problems: [String] = []
        if name.isEmpty {
            problems.append("name must not be empty")
        } else if let bad = name.unicodeScalars.first(where: { !Self.isNameCharacter($0) }) {
            problems.append("name '\(name)' may hold only letters, digits, '.', '_' and '-', not '\(bad)'")
        }
        if !(1...65_535).contains(listenPort) {
            problems.append("listen_port \(listenPort) is not a port (1-65535)")
        } else if listenPort == 80 {
            problems.append("listen_port 80 is refused: load balancers keep port 80 for their redirect to HTTPS")
        }
        if !(1...65_535).contains(applicationPort) {
            problems.append("application_port \(applicationPort) is not a port (1-65535)")
        }
        if domains.isEmpty {
            problems.append("domains needs at least one domain")
        }
        for domain in domains where !Self.isDomain(domain) {
            problems.append("domain '\(domain)' is not a host name (letters, digits, '-' and '.', or a leading '*.')")
        }
        return problems
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }

    /// A DNS name (RFC 1123 labels), optionally with one leading `*.` wildcard label.
    static func isDomain(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            for scalar in label.unicodeScalars {
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-": continue
                default: return false
                }
            }
        }
        return true
    }
}
