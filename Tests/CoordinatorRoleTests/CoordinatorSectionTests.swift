@testable import CoordinatorRole
import Plugins
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
                  tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}
                  advertise: nohost
                handlers:
                  send: ftp://x
                  sned: http://x
            """)
        #expect(found.contains("3:12: roles.coordinator.group: 'a b' may hold only letters, digits, '-', '_' and '.'"), "\(found)")
        #expect(found.contains("4:12: roles.coordinator.store: 'mysql://db' is neither sqlite:///PATH nor postgres://…"), "\(found)")
        #expect(found.contains { $0.hasPrefix("5:12: lease must be between 1s and") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("8:12: roles.coordinator.peer.tls") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("9:18: roles.coordinator.peer.advertise") }, "\(found)")
        #expect(found.contains("7:15: roles.coordinator.peer: a listener beyond loopback needs peer.token"), "\(found)")
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
