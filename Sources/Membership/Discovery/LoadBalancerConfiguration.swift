/// The configuration scrimplb's generator writes for a load balancer that is not outrider's own proxy: nginx's
/// `upstream` and `server` blocks, or HAProxy's `frontend` and `backend` sections, for the applications the
/// cluster's members announce (``MembershipSnapshot/routedApplications``). Pure text from values: the same
/// applications always give the same bytes, so an unchanged cluster never rewrites the file.
public struct LoadBalancerConfiguration: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable, CaseIterable {
        case nginx
        case haproxy
    }

    /// The certificate chain and key the load balancer terminates TLS with (scrimplb's `tls-chain-location` and
    /// `tls-key-location`); without them every port is plain HTTP.
    public struct TLS: Sendable, Equatable {
        public var chain: String
        public var key: String

        public init(chain: String, key: String) {
            self.chain = chain
            self.key = key
        }
    }

    public var format: Format
    public var tls: TLS?

    public init(format: Format, tls: TLS? = nil) {
        self.format = format
        self.tls = tls
    }

    static let header = "# Written by outrider from the gossip cluster's announced applications; changes here are overwritten.\n"

    /// The file's text for `applications`.
    public func render(_ applications: [RoutedApplication]) -> String {
        switch format {
        case .nginx: nginx(applications)
        case .haproxy: haproxy(applications)
        }
    }

    /// One `upstream` per application with backends, one `server` per application and listen port (`return 503`
    /// while it has no backend), and a port-80 `server` redirecting to HTTPS when any application listens on 443.
    /// Included inside nginx's `http` block (`conf.d`); `tcp` applications need its `stream` block and are left out,
    /// with a comment saying so.
    func nginx(_ applications: [RoutedApplication]) -> String {
        var text = Self.header
        for application in applications {
            let upstream = "outrider_\(application.name)"
            guard application.transport != .tcp else {
                text += "\n# \(application.name): a tcp application; nginx serves it from a stream block, not generated here.\n"
                continue
            }
            if !application.endpoints.isEmpty {
                text += "\nupstream \(upstream) {\n"
                for endpoint in application.endpoints { text += "    server \(Self.authority(endpoint));\n" }
                text += "    keepalive 16;\n}\n"
            }
            for port in application.listenPorts {
                text += "\nserver {\n"
                text += "    listen \(port)\(tls == nil ? "" : " ssl");\n"
                text += "    server_name \(application.domains.joined(separator: " "));\n"
                if let tls {
                    text += "    ssl_certificate \(tls.chain);\n    ssl_certificate_key \(tls.key);\n"
                }
                text += "    location / {\n"
                if application.endpoints.isEmpty {
                    text += "        return 503;\n"
                } else {
                    text += "        proxy_pass \(application.transport.rawValue)://\(upstream);\n"
                    text += "        proxy_http_version 1.1;\n"
                    text += "        proxy_set_header Connection \"\";\n"
                    text += "        proxy_set_header Host $host;\n"
                    text += "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
                    text += "        proxy_set_header X-Forwarded-Proto $scheme;\n"
                }
                text += "    }\n}\n"
            }
        }
        if applications.contains(where: { $0.transport != .tcp && $0.listenPorts.contains(443) }) {
            text += "\nserver {\n    listen 80;\n    server_name _;\n    return 301 https://$host$request_uri;\n}\n"
        }
        return text
    }

    /// One `frontend` per listen port choosing a `backend` by `Host` (a `*.example.com` domain matches by suffix),
    /// one `backend` per application (HAProxy answers `503` while it has no server), and a port-80 redirect when any
    /// application listens on 443. A port's first `tcp` application by name takes the whole port (`mode tcp` has no
    /// `Host`). Loaded beside the main file (`haproxy -f main.cfg -f generated.cfg`), which holds `global` and
    /// `defaults`.
    func haproxy(_ applications: [RoutedApplication]) -> String {
        var text = Self.header
        let ports = Set(applications.flatMap(\.listenPorts)).sorted()
        for port in ports {
            let here = applications.filter { $0.listenPorts.contains(port) }
            let bind = "    bind :\(port)\(tls.map { " ssl crt \($0.chain)" } ?? "")\n"
            if let tcp = here.first(where: { $0.transport == .tcp }) {
                text += "\nfrontend outrider_port_\(port)\n" + bind + "    mode tcp\n    default_backend outrider_\(tcp.name)\n"
                for other in here where other != tcp {
                    text += "    # \(other.name) also announces port \(port); a tcp application takes the whole port.\n"
                }
                continue
            }
            text += "\nfrontend outrider_port_\(port)\n" + bind + "    mode http\n    option forwardfor\n"
            for application in here {
                let acl = "outrider_\(application.name)_host"
                let exact = application.domains.filter { !$0.hasPrefix("*.") }
                let suffixes = application.domains.filter { $0.hasPrefix("*.") }.map { String($0.dropFirst()) }
                if !exact.isEmpty { text += "    acl \(acl) hdr(host),field(1,:) -i \(exact.joined(separator: " "))\n" }
                if !suffixes.isEmpty { text += "    acl \(acl) hdr(host),field(1,:) -m end -i \(suffixes.joined(separator: " "))\n" }
                text += "    use_backend outrider_\(application.name) if \(acl)\n"
            }
        }
        for application in applications {
            text += "\nbackend outrider_\(application.name)\n"
            text += "    mode \(application.transport == .tcp ? "tcp" : "http")\n    balance roundrobin\n"
            for endpoint in application.endpoints {
                let name = String(endpoint.member.unicodeScalars.map { Self.isServerNameCharacter($0) ? Character($0) : "_" })
                text += "    server \(name) \(Self.authority(endpoint)) check\(endpoint.transport == .https ? " ssl verify none" : "")\n"
            }
        }
        if applications.contains(where: { $0.transport != .tcp && $0.listenPorts.contains(443) }), !ports.contains(80) {
            text += "\nfrontend outrider_port_80\n    bind :80\n    mode http\n    http-request redirect scheme https code 301\n"
        }
        return text
    }

    private static func authority(_ endpoint: ApplicationEndpoint) -> String {
        endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
    }

    private static func isServerNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }
}
