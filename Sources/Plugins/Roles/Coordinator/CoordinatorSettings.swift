import CertificateFiles
import Plugins

/// `roles.coordinator` as decoded: see docs/coordinator.md.
public struct CoordinatorSettings: Sendable, Equatable {
    public enum Store: Sendable, Equatable, CustomStringConvertible {
        case sqlite(path: String)
        /// A `postgres://` URL, `${ENV}` already expanded by the configuration layer.
        case postgres(url: String)

        /// The store without its password, for logs and status.
        public var description: String {
            switch self {
            case .sqlite(let path): "sqlite://\(path)"
            case .postgres(let url): Self.redacted(url)
            }
        }

        static func redacted(_ url: String) -> String {
            guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
            let credentials = url[scheme.upperBound..<at]
            guard let colon = credentials.firstIndex(of: ":") else { return url }
            return String(url[..<colon]) + ":***" + String(url[at...])
        }
    }

    public struct Peer: Sendable, Equatable {
        public var listen: ListenAddress
        /// `host:port` the other members reach this one at; nil: the listen address (with the host's first
        /// non-loopback address when it listens on every interface).
        public var advertise: String?
        /// The shared secret peers present as `Authorization: Bearer …`.
        public var token: String?
        /// Mutual TLS between members.
        public var tls: TLS?

        public init(listen: ListenAddress, advertise: String? = nil, token: String? = nil, tls: TLS? = nil) {
            self.listen = listen
            self.advertise = advertise
            self.token = token
            self.tls = tls
        }
    }

    /// `peer.tls`: this member's certificate and key, presented to the members it calls and to those that call
    /// it, and the CA that signs every member's certificate.
    public struct TLS: Sendable, Equatable {
        public var certificatePath: String
        public var keyPath: String
        public var caPath: String
        /// The files as they were when the configuration was read: a reload of an unchanged configuration file
        /// after the certificates were renewed is a change, so it reaches the role (which loads them again).
        public var files: [FileFingerprint]

        public init(certificatePath: String, keyPath: String, caPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.caPath = caPath
            self.files = FileFingerprint.of([certificatePath, keyPath, caPath])
        }

        var paths: [String] { [certificatePath, keyPath, caPath] }
    }

    public struct Handlers: Sendable, Equatable {
        public var send: String?
        public var broadcast: String?
        public var leaderChanged: String?

        public init(send: String? = nil, broadcast: String? = nil, leaderChanged: String? = nil) {
            self.send = send
            self.broadcast = broadcast
            self.leaderChanged = leaderChanged
        }
    }

    public var group: String
    public var store: Store
    public var lease: Duration
    public var peer: Peer
    public var handlers: Handlers
    /// The largest value a Put takes.
    public var valueLimit: Int
    /// How long an `Idempotency-Key` is remembered; a retry later than that is a new write.
    public var idempotencyTTL: Duration

    public init(
        group: String, store: Store, lease: Duration = .seconds(10), peer: Peer, handlers: Handlers = Handlers(), valueLimit: Int = 1 << 20,
        idempotencyTTL: Duration = .seconds(24 * 3600)
    ) {
        self.group = group
        self.store = store
        self.lease = lease
        self.peer = peer
        self.handlers = handlers
        self.valueLimit = valueLimit
        self.idempotencyTTL = idempotencyTTL
    }
}

extension CoordinatorSettings {
    /// These settings without what was seen of `peer.tls`'s files: equal for two readings of one configuration
    /// between which only the certificates were renewed.
    var ignoringFileChanges: CoordinatorSettings {
        var settings = self
        settings.peer.tls?.files = []
        return settings
    }
}

/// Reads `roles.coordinator`, every problem at its line and column.
enum CoordinatorSection {
    static func decode(_ section: ConfigMapping) throws -> CoordinatorSettings {
        let decoder = section.decoder
        let before = decoder.problemCount

        let group = section.required("group", as: String.self) ?? ""
        if let value = section.value("group"), !group.isEmpty, !group.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            decoder.record("roles.coordinator.group: '\(group)' may hold only letters, digits, '-', '_' and '.'", at: value.location)
        }

        var store = CoordinatorSettings.Store.sqlite(path: "")
        if let text = section.required("store", as: String.self), let value = section.value("store") {
            if text.hasPrefix("sqlite://") {
                let path = String(text.dropFirst("sqlite://".count))
                if path.isEmpty || !path.hasPrefix("/") {
                    decoder.record("roles.coordinator.store: '\(text)' needs an absolute path, as sqlite:///var/lib/outrider/coordinator.db", at: value.location)
                }
                store = .sqlite(path: path)
            } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
                let mode = text.range(of: "sslmode=").map { String(text[$0.upperBound...].prefix { $0 != "&" }) } ?? "prefer"
                if !["disable", "prefer", "require", "verify-ca", "verify-full"].contains(mode) {
                    decoder.record("roles.coordinator.store: sslmode must be disable, prefer, require, verify-ca or verify-full, found '\(mode)'", at: value.location)
                }
                store = .postgres(url: text)
            } else {
                decoder.record("roles.coordinator.store: '\(CoordinatorSettings.Store.redacted(text))' is neither sqlite:///PATH nor postgres://…", at: value.location)
            }
        }

        let lease = section.value("lease", default: Duration.seconds(10), in: .seconds(1) ... .seconds(3600))
        // A day by default, as Stripe keeps keys; long enough for any client's retries.
        let idempotencyTTL = section.value("idempotency_ttl", default: Duration.seconds(24 * 3600), in: .seconds(1) ... .seconds(365 * 24 * 3600))
        // The admin listener takes bodies of up to 1 MiB, the most a value can be.
        let valueLimit = section.value("value_limit", default: ByteSize(bytes: 1 << 20)).bytes
        if valueLimit < 1 || valueLimit > 1 << 20, let value = section.value("value_limit") {
            decoder.record("roles.coordinator.value_limit must be between 1 and 1MiB", at: value.location)
        }

        var peer = CoordinatorSettings.Peer(listen: ListenAddress(host: "", port: 9902))
        if let mapping = section.mapping("peer") {
            let listen = mapping.required("listen", as: ListenAddress.self)
            let listenLocation = mapping.value("listen")?.location ?? mapping.location
            let advertise = mapping.optional("advertise", as: String.self)
            if let advertise, let value = mapping.value("advertise") {
                do {
                    let address = try ListenAddress.parse(advertise)
                    if address.host.isEmpty || address.port == 0 {
                        decoder.record("roles.coordinator.peer.advertise needs a host and a port, as 10.0.0.5:9902", at: value.location)
                    }
                } catch {
                    decoder.record("roles.coordinator.peer.advertise: \(error.message)", at: value.location)
                }
            }
            let token = mapping.optional("token", as: String.self)
            if let value = mapping.value("token"), let token, token.count < 16 {
                decoder.record("roles.coordinator.peer.token must be at least 16 characters", at: value.location)
            }
            var tls: CoordinatorSettings.TLS?
            if mapping.value("tls") != nil, let section = mapping.mapping("tls") {
                tls = PeerCredentials.decode(section)
            }
            mapping.finish()
            if let listen {
                peer = CoordinatorSettings.Peer(listen: listen, advertise: advertise, token: token, tls: tls)
                if token == nil, mapping.value("tls") == nil, !isLoopback(listen.host) {
                    decoder.record("roles.coordinator.peer: a listener beyond loopback needs peer.token or peer.tls", at: listenLocation)
                }
            }
        }

        var handlers = CoordinatorSettings.Handlers()
        if let mapping = section.mapping("handlers") {
            func url(_ key: String) -> String? {
                guard let text = mapping.optional(key, as: String.self) else { return nil }
                if !(text.hasPrefix("http://") || text.hasPrefix("https://")), let value = mapping.value(key) {
                    decoder.record("roles.coordinator.handlers.\(key): '\(text)' is not an http:// or https:// URL", at: value.location)
                }
                return text
            }
            handlers = CoordinatorSettings.Handlers(send: url("send"), broadcast: url("broadcast"), leaderChanged: url("leader_changed"))
            mapping.finish()
        }

        if decoder.problemCount != before { throw ConfigProblemsRecorded() }
        return CoordinatorSettings(group: group, store: store, lease: lease, peer: peer, handlers: handlers, valueLimit: valueLimit, idempotencyTTL: idempotencyTTL)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
