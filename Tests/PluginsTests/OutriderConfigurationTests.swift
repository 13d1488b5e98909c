import Logging
import NIOCore
import Plugins
import XCTest

final class OutriderConfigurationTests: XCTestCase {
    let catalog = RoleCatalog([AnyRolePlugin(TestRolePlugin(name: "alpha", log: EventLog()))])

    func parse(_ text: String, environment: [String: String] = [:]) throws -> OutriderConfiguration {
        try OutriderConfiguration.parse(text, path: "test.yaml", catalog: catalog, environment: environment)
    }

    /// The diagnostics of a text that must not validate, as `LINE:COLUMN: message` strings.
    func problems(_ text: String, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try parse(text, environment: environment)
            XCTFail("expected the configuration to be rejected", file: file, line: line)
            return []
        } catch let error as ConfigErrors {
            for diagnostic in error.diagnostics {
                XCTAssertEqual(diagnostic.location.file, "test.yaml", file: file, line: line)
            }
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return []
        }
    }

    func testDefaults() throws {
        let configuration = try parse("")
        XCTAssertEqual(configuration.adminListen, ListenAddress(host: "127.0.0.1", port: 9901))
        XCTAssertEqual(configuration.logLevel, .info)
        XCTAssertEqual(configuration.logFormat, .text)
        XCTAssertEqual(configuration.shutdownGrace, .seconds(10))
        XCTAssertEqual(configuration.eventLoopThreads, System.coreCount)
        XCTAssertFalse(configuration.nodeName.isEmpty)
        XCTAssertTrue(configuration.roles.isEmpty)
    }

    func testFullFile() throws {
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
        XCTAssertEqual(configuration.nodeName, "edge-1")
        XCTAssertEqual(configuration.adminListen, ListenAddress(host: "::1", port: 9000))
        XCTAssertEqual(configuration.logLevel, .debug)
        XCTAssertEqual(configuration.logFormat, .json)
        XCTAssertEqual(configuration.eventLoopThreads, 3)
        XCTAssertEqual(configuration.shutdownGrace, .seconds(90))
        XCTAssertEqual(configuration.roles.map(\.name), ["alpha"])
        XCTAssertEqual(configuration.roles.first?.summary, "greets hi")
        XCTAssertEqual(configuration.roles.first?.enabled, true)
    }

    func testEnabledFalseKeepsTheRoleDeclaredButDisabled() throws {
        let configuration = try parse("roles:\n  alpha:\n    enabled: false\n")
        XCTAssertEqual(configuration.roles.first?.enabled, false)
        XCTAssertTrue(configuration.enabledRoles.isEmpty)
        XCTAssertEqual(try parse("roles:\n  alpha:\n").enabledRoles.map(\.name), ["alpha"])
    }

    func testEnvironmentExpansionInValues() throws {
        let configuration = try parse("node:\n  name: ${NODE}\nroles:\n  alpha:\n    greeting: \"${WORD}!\"\n", environment: ["NODE": "n1", "WORD": "hey"])
        XCTAssertEqual(configuration.nodeName, "n1")
        XCTAssertEqual(configuration.roles.first?.summary, "greets hey!")
        XCTAssertEqual(problems("node:\n  name: ${NODE}\n"), ["2:9: environment variable NODE is not set (use ${NODE:-default} for a default)"])
        XCTAssertEqual(problems("node:\n  name: ab${NODE\n"), ["2:11: unterminated '${' in value (write '$$' for a literal '$')"])
    }

    func testYAMLSyntaxErrorHasPosition() {
        let found = problems("admin:\n  listen: [1, 2\nlog: {}\n")
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].hasPrefix("3:4: YAML syntax error:"), found[0])
        let tabs = problems("admin:\n\tlisten: :80\n")
        XCTAssertTrue(tabs.first?.hasPrefix("2:1: YAML syntax error") ?? false, "\(tabs)")
    }

    func testDuplicateKey() {
        XCTAssertEqual(problems("log:\n  level: info\n  level: debug\n").first?.contains("duplicate key 'level'"), true)
    }

    func testWrongTypes() {
        XCTAssertEqual(problems("log: verbose\n"), ["1:6: log must be a mapping, found a scalar"])
        XCTAssertEqual(problems("event_loop:\n  threads: many\n"), ["2:12: expected an integer, found 'many'"])
        XCTAssertEqual(problems("roles:\n  alpha:\n    bind: yes\n"), ["3:11: expected true or false, found 'yes'"])
        XCTAssertEqual(problems("node:\n  name: [a, b]\n"), ["2:9: expected a string, found a list"])
        XCTAssertEqual(problems("roles: [alpha]\n"), ["1:8: roles must be a mapping, found a list"])
    }

    func testOutOfRange() {
        XCTAssertEqual(problems("event_loop:\n  threads: 0\n"), ["2:12: threads must be between 1 and 1024, found 0"])
        XCTAssertEqual(problems("roles:\n  alpha:\n    limit: 1000\n"), ["3:12: limit must be between 1 and 100, found 1000"])
        XCTAssertEqual(problems("shutdown_grace: 2h\n"), ["1:17: shutdown_grace must be between 0s and 1h, found 2h"])
    }

    func testBadDurationSizeAndAddress() {
        XCTAssertEqual(problems("shutdown_grace: 10\n"), ["1:17: invalid duration '10': '10' needs a unit (ns, us, ms, s, m, h, d)"])
        XCTAssertEqual(problems("shutdown_grace: 10 sec\n"), ["1:17: invalid duration '10 sec': unknown unit ' sec' (use ns, us, ms, s, m, h or d)"])
        XCTAssertEqual(
            problems("roles:\n  alpha:\n    nested:\n      deeper:\n        size: 12XB\n"),
            ["5:15: invalid size '12XB': unknown unit 'XB' (use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)"]
        )
        XCTAssertEqual(problems("admin:\n  listen: localhost\n"), ["2:11: invalid address 'localhost': missing ':port' (for example :8080)"])
        XCTAssertEqual(problems("admin:\n  listen: \":99999\"\n"), ["2:11: invalid address ':99999': port must be a number from 0 to 65535"])
    }

    func testUnknownKeysAtEveryDepth() {
        XCTAssertEqual(problems("admn:\n  listen: :1\n"), ["1:1: unknown key 'admn' (did you mean 'admin'?)"])
        XCTAssertEqual(problems("log:\n  levle: info\n"), ["2:3: unknown key 'levle' in log (did you mean 'level'?)"])
        XCTAssertEqual(problems("roles:\n  alpha:\n    greting: hi\n"), ["3:5: unknown key 'greting' in roles.alpha (did you mean 'greeting'?)"])
        XCTAssertEqual(
            problems("roles:\n  alpha:\n    nested:\n      deeper:\n        helth: 1\n"),
            ["5:9: unknown key 'helth' in roles.alpha.nested.deeper (known keys: size)"]
        )
    }

    func testUnknownRoleNamesTheKnownOnes() {
        XCTAssertEqual(problems("roles:\n  proxy: {}\n"), ["2:3: unknown role 'proxy' (known roles: alpha)"])
    }

    func testEveryProblemIsReportedInFileOrder() {
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
        XCTAssertEqual(found.map { String($0.prefix(while: { $0 != " " })) }, ["2:3:", "4:11:", "6:10:", "7:17:", "10:12:", "11:3:"])
    }

    func testMissingFileIsAConfigError() {
        XCTAssertThrowsError(try OutriderConfiguration.load(path: "/nonexistent/outrider.yaml", catalog: catalog)) { error in
            XCTAssertEqual((error as? ConfigErrors)?.description, "/nonexistent/outrider.yaml:1:1: cannot read configuration: no such file")
        }
    }

    func testCapabilityCycleIsAConfigError() {
        let log = EventLog()
        let cyclic = RoleCatalog([
            AnyRolePlugin(TestRolePlugin(name: "a", offers: [AnyCapability(Capability<String>("x"))], uses: [AnyCapability(Capability<String>("y"))], log: log)),
            AnyRolePlugin(TestRolePlugin(name: "b", offers: [AnyCapability(Capability<String>("y"))], uses: [AnyCapability(Capability<String>("x"))], log: log)),
        ])
        XCTAssertThrowsError(try OutriderConfiguration.parse("roles:\n  a: {}\n  b: {}\n", path: "c.yaml", catalog: cyclic, environment: [:])) { error in
            XCTAssertEqual((error as? ConfigErrors)?.description, "c.yaml:2:3: the enabled roles use each other's capabilities in a cycle")
        }
    }
}
