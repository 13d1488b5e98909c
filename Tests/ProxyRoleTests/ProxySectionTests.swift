import Plugins
import Proxy
import ProxyRole
import XCTest

final class ProxySectionTests: XCTestCase {
    let catalog = RoleCatalog([AnyRolePlugin(ProxyRolePlugin())])

    func parse(_ roles: String) throws -> ProxyConfiguration {
        let configuration = try OutriderConfiguration.parse("roles:\n" + roles, path: "p.yaml", catalog: catalog, environment: ["KEY_PASS": "pw"])
        let declaration = try XCTUnwrap(configuration.roles.first)
        return try XCTUnwrap(declaration.settings.value as? ProxyConfiguration)
    }

    func problems(_ roles: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n" + roles, path: "p.yaml", catalog: catalog, environment: [:])
            XCTFail("expected problems", file: file, line: line)
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    func testTheIssueExample() throws {
        let proxy = try parse("""
              proxy:
                listen: [":8080", {address: "127.0.0.1:8443", tls: {cert: /c.pem, key: /k.pem, key_password: "${KEY_PASS}"}}]
                sites:
                  - name: primary
                    pools: ["http://minio{1...4}:9000", "http://minio{5...8}:9000"]
                  - name: dr
                    pools: ["https://dr-minio{1...4}:9000"]
                balance: p2c_ewma
                health:
                  path: /minio/health/ready
                  read_path: /minio/health/read
                  port: 9001
                  interval: 2s
                  timeout: 1s
                  optimistic: true
                upstream:
                  tls: {insecure: true, ca: /ca.pem, cert: /client.pem, key: /client.key}
                  connect_timeout: 3s
                  idle_timeout: 20s
                  max_idle_per_backend: 64
                retry: {attempts: 3}
                trace: {enabled: true, format: json, filter: application, errors_only: true, status_codes: [502, 504]}
                limits: {max_header_size: 32KiB, header_read_timeout: 5s, idle_timeout: 1m, max_connections: 500}
            """)
        XCTAssertEqual(proxy.listeners, [
            .init(host: "", port: 8080),
            .init(host: "127.0.0.1", port: 8443, tls: .init(certificatePath: "/c.pem", keyPath: "/k.pem", keyPassword: "pw")),
        ])
        XCTAssertEqual(proxy.sites, [
            .init(name: "primary", pools: ["http://minio{1...4}:9000", "http://minio{5...8}:9000"]),
            .init(name: "dr", pools: ["https://dr-minio{1...4}:9000"]),
        ])
        XCTAssertEqual(try proxy.resolvedSites().map(\.backends.count), [8, 4])
        XCTAssertEqual(proxy.balance, .p2cEWMA)
        XCTAssertEqual(proxy.health, .init(path: "/minio/health/ready", readPath: "/minio/health/read", port: 9001, interval: .seconds(2), timeout: .seconds(1), optimistic: true))
        XCTAssertEqual(proxy.upstream.tls, .init(insecure: true, caPath: "/ca.pem", certificatePath: "/client.pem", keyPath: "/client.key"))
        XCTAssertEqual(proxy.upstream.connectTimeout, .seconds(3))
        XCTAssertEqual(proxy.upstream.idleTimeout, .seconds(20))
        XCTAssertEqual(proxy.upstream.maxIdlePerBackend, 64)
        XCTAssertEqual(proxy.retry.attempts, 3)
        XCTAssertEqual(proxy.trace, .init(enabled: true, format: .json, filter: .application, errorsOnly: true, statusCodes: [502, 504]))
        XCTAssertEqual(proxy.limits, .init(maxHeaderBytes: 32 << 10, headerReadTimeout: .seconds(5), idleTimeout: .seconds(60), maxConnections: 500))
    }

    func testSidekickDefaults() throws {
        let proxy = try parse("  proxy:\n    sites:\n      - pools: [\"http://127.0.0.1:9000\"]\n")
        XCTAssertEqual(proxy.listeners, [.init(host: "", port: 8080)])
        XCTAssertEqual(proxy.balance, .least)
        XCTAssertEqual(proxy.health, .init())
        XCTAssertEqual(proxy.retry.attempts, 2)
        XCTAssertFalse(proxy.trace.enabled)
        XCTAssertEqual(try proxy.resolvedSites().map(\.name), ["site1"])
    }

    func testProblemsArePlacedWhereTheyAre() {
        XCTAssertEqual(problems("  proxy:\n    listen: [\":8080\"]\n"), ["3:5: roles.proxy is missing required key 'sites'"])
        XCTAssertEqual(problems("  proxy:\n    balance: fastest\n    sites: [{pools: [\"http://a:1\"]}]\n"), ["3:14: expected one of least, random, round_robin, p2c_ewma, found 'fastest'"])
        XCTAssertEqual(problems("  proxy:\n    helth: {path: /}\n    sites: [{pools: [\"http://a:1\"]}]\n"), ["3:5: unknown key 'helth' in roles.proxy (did you mean 'health'?)"])
        XCTAssertEqual(problems("  proxy:\n    sites: [{pools: [\"http://a:1\"], weight: 2}]\n"), ["3:37: unknown key 'weight' in roles.proxy.sites[0] (known keys: name, pools)"])
        XCTAssertEqual(problems("  proxy:\n    health: {interval: 5}\n    sites: [{pools: [\"http://a:1\"]}]\n"), ["3:24: invalid duration '5': '5' needs a unit (ns, us, ms, s, m, h, d)"])
        XCTAssertEqual(problems("  proxy:\n    trace: {status_codes: [700]}\n    sites: [{pools: [\"http://a:1\"]}]\n"), ["3:27: trace.status_codes: 700 is not an HTTP status code"])
        XCTAssertEqual(problems("  proxy:\n    listen: [{address: \":1\", tls: {cert: /c}}]\n    sites: [{pools: [\"http://a:1\"]}]\n"), ["3:35: roles.proxy.listen[].tls is missing required key 'key'"])
    }

    func testInvalidPoolIsReportedAtThePool() {
        let found = problems("  proxy:\n    sites:\n      - pools: [\"http://a:1\", \"http://b{1...2:1\"]\n")
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].hasPrefix("4:31: roles.proxy: site site1: pool \"http://b{1...2:1\""), found[0])
    }

    func testSummary() throws {
        let configuration = try OutriderConfiguration.parse(
            "roles:\n  proxy:\n    listen: [\"127.0.0.1:8000\"]\n    sites:\n      - pools: [\"http://m{1...4}:9000\"]\n      - name: dr\n        pools: [\"http://d:9000\"]\n",
            path: "p.yaml", catalog: catalog, environment: [:]
        )
        XCTAssertEqual(configuration.roles.first?.summary, "listen 127.0.0.1:8000; 2 sites (site1: 4 backends, dr: 1 backend); balance least")
    }
}
