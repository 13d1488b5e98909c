@testable import CoordinatorRole
import Foundation
import Plugins
import TestSupport
import Testing

@Suite struct CoordinatorSectionTests {
    let catalog = RoleCatalog([AnyRolePlugin(CoordinatorRolePlugin())])

    func parse(_ roles: String, environment: [String: String] = [:]) throws -> CoordinatorSettings {
        let configuration = try OutriderConfiguration.parse("roles:\n" + roles, path: "c.yaml", catalog: catalog, environment: environment)
        let declaration = try #require(configuration.roles.first)
        return try #require(declaration.settings.value as? CoordinatorSettings)
    }

    func problems(_ roles: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n" + roles, path: "c.yaml", catalog: catalog, environment: [:])
            Issue.record("expected problems", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func aSQLiteMemberWithATokenFromTheEnvironment() throws {
        let settings = try parse("""
              coordinator:
                group: orders
                store: sqlite:///var/lib/outrider/coordinator.db
                lease: 2s
                peer:
                  listen: ":9902"
                  advertise: 10.0.0.5:9902
                  token: ${OUTRIDER_PEER_TOKEN}
                handlers:
                  send: http://127.0.0.1:8081/leader
                  broadcast: http://127.0.0.1:8081/broadcast
                  leader_changed: http://127.0.0.1:8081/leader-changed
            """, environment: ["OUTRIDER_PEER_TOKEN": "0123456789abcdef0123"])
        #expect(settings.group == "orders")
        #expect(settings.store == .sqlite(path: "/var/lib/outrider/coordinator.db"))
        #expect(settings.lease == .seconds(2))
        #expect(settings.peer == .init(listen: ListenAddress(host: "", port: 9902), advertise: "10.0.0.5:9902", token: "0123456789abcdef0123"))
        #expect(settings.handlers.leaderChanged == "http://127.0.0.1:8081/leader-changed")
        #expect(settings.valueLimit == 1 << 20)
        let summary = CoordinatorRolePlugin().summary(of: settings)
        #expect(!summary.contains("0123456789abcdef"), "the token never appears: \(summary)")
    }

    @Test func problemsAreReportedAtTheirPositions() {
        let found = problems("""
              coordinator:
                group: "a b"
                store: mysql://db
                lease: 500ms
                peer:
                  listen: ":9902"
                  # neither a token nor TLS
                  advertise: nohost
                handlers:
                  send: ftp://x
                  sned: http://x
            """)
        #expect(found.contains("3:12: roles.coordinator.group: 'a b' may hold only letters, digits, '-', '_' and '.'"), "\(found)")
        #expect(found.contains("4:12: roles.coordinator.store: 'mysql://db' is neither sqlite:///PATH nor postgres://…"), "\(found)")
        #expect(found.contains { $0.hasPrefix("5:12: lease must be between 1s and") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("9:18: roles.coordinator.peer.advertise") }, "\(found)")
        #expect(found.contains("7:15: roles.coordinator.peer: a listener beyond loopback needs peer.token or peer.tls"), "\(found)")
        #expect(found.contains("11:13: roles.coordinator.handlers.send: 'ftp://x' is not an http:// or https:// URL"), "\(found)")
        #expect(found.contains { $0.hasPrefix("12:7: unknown key 'sned'") }, "\(found)")
    }

    @Test func aLoopbackListenerNeedsNoTokenAndStoreAndGroupAreRequired() throws {
        let settings = try parse("""
              coordinator:
                group: g
                store: sqlite:///tmp/c.db
                peer: {listen: "127.0.0.1:0"}
            """)
        #expect(settings.peer.token == nil)
        let found = problems("  coordinator:\n    peer: {listen: \"127.0.0.1:0\"}\n")
        #expect(found.contains { $0.contains("missing required key 'group'") }, "\(found)")
        #expect(found.contains { $0.contains("missing required key 'store'") }, "\(found)")
    }

    func tlsSection(cert: String, key: String, ca: String, listen: String = ":9902") -> String {
        """
          coordinator:
            group: g
            store: sqlite:///tmp/c.db
            idempotency_ttl: 2h
            peer:
              listen: "\(listen)"
              tls:
                cert: \(cert)
                key: \(key)
                ca: \(ca)
        """
    }

    /// Mutual TLS alone secures a listener beyond loopback; the files are read with the configuration.
    @Test func mutualTLSFromFilesMadeForTheTest() throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let settings = try parse(tlsSection(cert: certificates.certificatePath, key: certificates.keyPath, ca: certificates.caPath))
        let tls = try #require(settings.peer.tls)
        #expect(tls.certificatePath == certificates.certificatePath && tls.keyPath == certificates.keyPath && tls.caPath == certificates.caPath)
        #expect(tls.files.count == 3)
        #expect(settings.peer.token == nil)
        #expect(settings.idempotencyTTL == .seconds(7200))
        #expect(CoordinatorRolePlugin().summary(of: settings).hasSuffix("peer :9902 (mutual TLS)"))
        _ = try PeerCredentials.load(tls)

        // Renewed files make the settings differ, so a reload reaches the role, which takes them in place.
        try certificates.issue(name: "server", commonName: "renewed")
        let renewed = try parse(tlsSection(cert: certificates.certificatePath, key: certificates.keyPath, ca: certificates.caPath))
        #expect(renewed != settings)
        #expect(renewed.ignoringFileChanges == settings.ignoringFileChanges)
    }

    /// Each unusable file is named at its line and column, in one line.
    @Test func unusableTLSFilesAreReportedWhereTheyAreNamed() throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let garbage = certificates.path("garbage.pem")
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let good = (cert: certificates.certificatePath, key: certificates.keyPath, ca: certificates.caPath)

        var found = problems(tlsSection(cert: "/nonexistent/peer.pem", key: good.key, ca: good.ca))
        #expect(found == ["9:15: roles.coordinator.peer.tls.cert: cannot read '/nonexistent/peer.pem': no such file"])
        found = problems(tlsSection(cert: garbage, key: good.key, ca: good.ca))
        #expect(found == ["9:15: roles.coordinator.peer.tls.cert: '\(garbage)' holds no PEM certificate"])
        found = problems(tlsSection(cert: good.cert, key: garbage, ca: good.ca))
        #expect(found == ["10:14: roles.coordinator.peer.tls.key: '\(garbage)' is not a PEM private key (an encrypted key is not supported)"])
        found = problems(tlsSection(cert: good.cert, key: good.key, ca: certificates.directory.path))
        #expect(found == ["11:13: roles.coordinator.peer.tls.ca: cannot read '\(certificates.directory.path)': a directory"])
        found = problems(tlsSection(cert: good.cert, key: good.key, ca: garbage))
        #expect(found == ["11:13: roles.coordinator.peer.tls.ca: '\(garbage)' holds no PEM CA certificate"])

        try certificates.issue(name: "other", commonName: "other")
        found = problems(tlsSection(cert: good.cert, key: certificates.path("other.key"), ca: good.ca))
        #expect(found.count == 1 && found[0].contains("roles.coordinator.peer.tls: the key '\(certificates.path("other.key"))' does not belong to the certificate"), "\(found)")
        #expect(found.allSatisfy { !$0.contains("\n") })

        found = problems("""
              coordinator:
                group: g
                store: sqlite:///tmp/c.db
                peer:
                  listen: ":9902"
                  tls: {cert: \(good.cert), key: \(good.key)}
            """)
        #expect(found.contains { $0.contains("missing required key 'ca'") }, "\(found)")
        #expect(!found.contains { $0.contains("needs peer.token") }, "tls was given: \(found)")
    }

    @Test func aPasswordInAPostgresURLIsRedacted() {
        #expect(CoordinatorSettings.Store.redacted("postgres://user:secret@db:5432/outrider") == "postgres://user:***@db:5432/outrider")
        #expect(CoordinatorSettings.Store.redacted("postgres://db/outrider") == "postgres://db/outrider")
    }
}

@Suite struct PeerTokenTests {
    @Test func onlyTheExactTokenIsAccepted() {
        let token = PeerToken("0123456789abcdef")
        #expect(token.accepts("Bearer 0123456789abcdef"))
        for field in [nil, "", "Bearer ", "Bearer 0123456789abcde", "Bearer 0123456789abcdef0", "Bearer 0123456789abcdeF", "bearer 0123456789abcdef", "0123456789abcdef"] {
            #expect(!token.accepts(field), "\(field ?? "nil")")
        }
        #expect(!PeerToken.constantTimeEqual(Array(repeating: 1, count: 256), []), "lengths a multiple of 256 apart")
    }
}

@Suite struct QueryItemsTests {
    @Test func pairsArePercentDecoded() {
        let query = QueryItems("limit=all&after=3&only=a%2Cb&x=a+b&empty&bad=%zz")
        #expect(query["limit"] == "all")
        #expect(query["after"] == "3")
        #expect(query["only"] == "a,b")
        #expect(query["x"] == "a b")
        #expect(query["empty"] == "")
        #expect(query["bad"] == "%zz")
        #expect(query["missing"] == nil)
        #expect(QueryItems(nil)["a"] == nil)
    }
}
