/// How a backend's applications travel in its member metadata: one tag, ``key``, beside the member's other tags, so
/// that serf agents in the cluster carry and show it (`serf members` prints `apps=web:443>8080/http=example.com`)
/// and memberlist's 512-byte metadata limit is shared with them.
///
/// scrimplb gzips JSON into the metadata. A tag must be text, and gzip's header and trailer (18 bytes) plus base64's
/// third more outweigh what deflate saves on the one to three short applications a host announces, so the
/// encoding is a compact line instead, one application after another:
///
/// ```
/// NAME:LISTEN_PORT>APPLICATION_PORT/PROTOCOL=DOMAIN,DOMAIN;NAME:...
/// ```
///
/// Names are letters, digits, `.`, `_`, `-`; domains are host names: neither holds a separator. Ports have no leading
/// zero, so each list of applications has one encoding.
public enum ApplicationTag {
    /// The tag's key.
    public static let key = "apps"

    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case malformed(entry: String, reason: String)

        public var description: String {
            switch self {
            case .malformed(let entry, let reason): "application '\(entry)': \(reason)"
            }
        }
    }

    /// The tag's value for `applications`, in their order; they are assumed valid (``Application/problems``).
    public static func encode(_ applications: [Application]) -> String {
        applications.map { application in
            "\(application.name):\(application.listenPort)>\(application.applicationPort)/\(application.transport.rawValue)="
                + application.domains.joined(separator: ",")
        }.joined(separator: ";")
    }

    /// The applications a tag value announces. Any text either decodes to valid applications or fails, naming the
    /// entry at fault: the value comes from the network.
    public static func decode(_ value: String) throws(DecodingError) -> [Application] {
        guard !value.isEmpty else { return [] }
        var applications: [Application] = []
        for entry in value.split(separator: ";", omittingEmptySubsequences: false) {
            let text = String(entry.prefix(64))
            guard let colon = entry.firstIndex(of: ":"),
                  let arrow = entry[colon...].firstIndex(of: ">"),
                  let slash = entry[arrow...].firstIndex(of: "/"),
                  let equals = entry[slash...].firstIndex(of: "=")
            else { throw .malformed(entry: text, reason: "expected NAME:LISTEN>PORT/PROTOCOL=DOMAINS") }
            let name = String(entry[..<colon])
            guard let listen = port(entry[entry.index(after: colon)..<arrow]),
                  let target = port(entry[entry.index(after: arrow)..<slash])
            else { throw .malformed(entry: text, reason: "a port is not a number from 1 to 65535") }
            guard let transport = Application.TransportProtocol(rawValue: String(entry[entry.index(after: slash)..<equals])) else {
                throw .malformed(entry: text, reason: "the protocol is none of http, https, tcp")
            }
            let domains = entry[entry.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let application = Application(name: name, listenPort: listen, applicationPort: target, transport: transport, domains: domains)
            if let problem = application.problems.first { throw .malformed(entry: text, reason: problem) }
            applications.append(application)
        }
        return applications
    }

    /// The applications `member` announces; a member whose tag does not decode announces none.
    public static func applications(of member: Member) -> [Application] {
        guard let value = member.tags[key] else { return [] }
        return (try? decode(value)) ?? []
    }

    private static func port(_ digits: Substring) -> Int? {
        guard (1...5).contains(digits.utf8.count), digits.first != "0", digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(digits),
              (1...65_535).contains(value)
        else { return nil }
        return value
    }
}
