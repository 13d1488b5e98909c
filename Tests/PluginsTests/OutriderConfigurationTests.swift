import Logging
import NIOCore
import Plugins
import Testing

@Suite struct OutriderConfigurationTests {
    let catalog = RoleCatalog([AnyRolePlugin(TestRolePlugin(name: "alpha", log: EventLog()))])

    func parse(_ text: String, environment: [String: String] = [:]) throws -> OutriderConfiguration {
        try OutriderConfiguration.parse(text, path: "test.yaml", catalog: catalog, environment: environment)
    }

    /// The diagnostics of a text that must not validate, as `LINE:COLUMN: message` strings.
    func problems(
        _ text: String,
        environment: [String: String] = [:],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> [String] {
        do {
            _ = try parse(text, environment: environment)
            Issue.record("expected the configuration to be rejected", sourceLocation: sourceLocation)
            return []
        } catch let error as ConfigErrors {
            for diagnostic in error.diagnostics {
                #expect(diagnostic.location.file == "test.yaml", sourceLocation: sourceLocation)
            }
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
            return []
        }
    }

    @Test func defaults() throws {
        let configuration = try parse("")
        #expect(configuration.adminListen == ListenAddress(host: "127.0.0.1", port: 9901))
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .text)
        #expect(configuration.shutdownGrace == .seconds(10))
        #expect(configuration.eventLoopThreads == System.coreCount)
        #expect(!configuration.nodeName.isEmpty)
        #expect(configuration.roles.isEmpty)
    }

    @Test func fullFile() throws {
        let configuration = try parse("""
            node:
              name: edge-1
            admin:
              listen: "[::1]:9000"
            log:
              level: debug
              format: json
            event_loop:
              threads: 3
            shutdown_grace: 1m30s
            roles:
              alpha:
                greeting: ${GREETING:-hi}
                nested:
                  timeout: 250ms
                  deeper:
                    size: 64KiB
            """, environment: [:])
        #expect(configuration.nodeName == "edge-1")
        #expect(configuration.adminListen == ListenAddress(host: "::1", port: 9000))
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .json)
        #expect(configuration.eventLoopThreads == 3)
        #expect(configuration.shutdownGrace == .seconds(90))
        #expect(configuration.roles.map(\.name) == ["alpha"])
        #expect(configuration.roles.first?.summary == "greets hi")
        #expect(configuration.roles.first?.enabled == true)
    }

    @Test func enabledFalseKeepsTheRoleDeclaredButDisabled() throws {
        let configuration = try parse("roles:\n  alpha:\n    enabled: false\n")
        #expect(configuration.roles.first?.enabled == false)
        #expect(configuration.enabledRoles.isEmpty)
        #expect(try parse("roles:\n  alpha:\n").enabledRoles.map(\.name) == ["alpha"])
    }

    @Test func environmentExpansionInValues() throws {
        let configuration = try parse("node:\n  name: ${NODE}\nroles:\n  alpha:\n    greeting: \"${WORD}!\"\n", environment: ["NODE": "n1", "WORD": "hey"])
        #expect(configuration.nodeName == "n1")
        #expect(configuration.roles.first?.summary == "greets hey!")
        #expect(problems("node:\n  name: ${NODE}\n") == ["2:9: environment variable NODE is not set (use ${NODE:-default} for a default)"])
        #expect(problems("node:\n  name: ab${NODE\n") == ["2:11: unterminated '${' in value (write '$$' for a literal '$')"])
    }

    @Test func yamlSyntaxErrorHasPosition() throws {
        let found = problems("admin:\n  listen: [1, 2\nlog: {}\n")
        try #require(found.count == 1)
        #expect(found[0].hasPrefix("3:4: YAML syntax error:"), "\(found[0])")
        let tabs = problems("admin:\n\tlisten: :80\n")
        #expect(tabs.first?.hasPrefix("2:1: YAML syntax error") ?? false, "\(tabs)")
    }

    @Test func duplicateKey() {
        #expect(problems("log:\n  level: info\n  level: debug\n").first?.contains("duplicate key 'level'") == true)
    }

    @Test(arguments: [
        ("log: verbose\n", "1:6: log must be a mapping, found a scalar"),
        ("event_loop:\n  threads: many\n", "2:12: expected an integer, found 'many'"),
        ("roles:\n  alpha:\n    bind: yes\n", "3:11: expected true or false, found 'yes'"),
        ("node:\n  name: [a, b]\n", "2:9: expected a string, found a list"),
        ("roles: [alpha]\n", "1:8: roles must be a mapping, found a list"),
    ])
    func wrongTypes(_ text: String, _ problem: String) {
        #expect(problems(text) == [problem])
    }

    @Test(arguments: [
        ("event_loop:\n  threads: 0\n", "2:12: threads must be between 1 and 1024, found 0"),
        ("roles:\n  alpha:\n    limit: 1000\n", "3:12: limit must be between 1 and 100, found 1000"),
        ("shutdown_grace: 2h\n", "1:17: shutdown_grace must be between 0s and 1h, found 2h"),
    ])
    func outOfRange(_ text: String, _ problem: String) {
        #expect(problems(text) == [problem])
    }

    @Test(arguments: [
        ("shutdown_grace: 10\n", "1:17: invalid duration '10': '10' needs a unit (ns, us, ms, s, m, h, d)"),
        ("shutdown_grace: 10 sec\n", "1:17: invalid duration '10 sec': unknown unit ' sec' (use ns, us, ms, s, m, h or d)"),
        (
            "roles:\n  alpha:\n    nested:\n      deeper:\n        size: 12XB\n",
            "5:15: invalid size '12XB': unknown unit 'XB' (use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)"
        ),
        ("admin:\n  listen: localhost\n", "2:11: invalid address 'localhost': missing ':port' (for example :8080)"),
        ("admin:\n  listen: \":99999\"\n", "2:11: invalid address ':99999': port must be a number from 0 to 65535"),
    ])
    func badDurationSizeAndAddress(_ text: String, _ problem: String) {
        #expect(problems(text) == [problem])
    }

    @Test(arguments: [
        ("admn:\n  listen: :1\n", "1:1: unknown key 'admn' (did you mean 'admin'?)"),
        ("log:\n  levle: info\n", "2:3: unknown key 'levle' in log (did you mean 'level'?)"),
        ("roles:\n  alpha:\n    greting: hi\n", "3:5: unknown key 'greting' in roles.alpha (did you mean 'greeting'?)"),
        (
            "roles:\n  alpha:\n    nested:\n      deeper:\n        helth: 1\n",
            "5:9: unknown key 'helth' in roles.alpha.nested.deeper (known keys: size)"
        ),
    ])
    func unknownKeysAtEveryDepth(_ text: String, _ problem: String) {
        #expect(problems(text) == [problem])
    }

    @Test func unknownRoleNamesTheKnownOnes() {
        #expect(problems("roles:\n  proxy: {}\n") == ["2:3: unknown role 'proxy' (known roles: alpha)"])
    }

    @Test func everyProblemIsReportedInFileOrder() {
        let found = problems("""
            node:
              nmae: x
            admin:
              listen: nowhere
            log:
              level: loud
            shutdown_grace: soon
            roles:
              alpha:
                limit: 0
              omega: {}
            """)
        #expect(found.map { String($0.prefix(while: { $0 != " " })) } == ["2:3:", "4:11:", "6:10:", "7:17:", "10:12:", "11:3:"])
    }

    @Test func missingFileIsAConfigError() {
        let error = #expect(throws: ConfigErrors.self) {
            try OutriderConfiguration.load(path: "/nonexistent/outrider.yaml", catalog: catalog)
        }
        #expect(error?.description == "/nonexistent/outrider.yaml:1:1: cannot read configuration: no such file")
    }

    @Test func capabilityCycleIsAConfigError() {
        let log = EventLog()
        let cyclic = RoleCatalog([
            AnyRolePlugin(TestRolePlugin(name: "a", offers: [AnyCapability(Capability<String>("x"))], uses: [AnyCapability(Capability<String>("y"))], log: log)),
            AnyRolePlugin(TestRolePlugin(name: "b", offers: [AnyCapability(Capability<String>("y"))], uses: [AnyCapability(Capability<String>("x"))], log: log)),
        ])
        let error = #expect(throws: ConfigErrors.self) {
            try OutriderConfiguration.parse("roles:\n  a: {}\n  b: {}\n", path: "c.yaml", catalog: cyclic, environment: [:])
        }
        #expect(error?.description == "c.yaml:2:3: the enabled roles use each other's capabilities in a cycle")
    }
}
