import Plugins
import Proxy
import ProxyRole
import Testing

@Suite struct ProxySectionTests {
    let catalog = RoleCatalog([AnyRolePlugin(ProxyRolePlugin())])

    func parse(_ roles: String) throws -> ProxyConfiguration {
        try parseSettings(roles).proxy
    }

    func parseSettings(_ roles: String) throws -> ProxyRoleSettings {
        let configuration = try OutriderConfiguration.parse("roles:\n" + roles, path: "p.yaml", catalog: catalog, environment: ["KEY_PASS": "pw"])
        let declaration = try #require(configuration.roles.first)
        return try #require(declaration.settings.value as? ProxyRoleSettings)
    }

    func problems(_ roles: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try OutriderConfiguration.parse("roles:\n" + roles, path: "p.yaml", catalog: catalog, environment: [:])
            Issue.record("expected problems", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func theIssueExample() throws {
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
        #expect(proxy.listeners == [
            .init(host: "", port: 8080),
            .init(host: "127.0.0.1", port: 8443, tls: .init(certificatePath: "/c.pem", keyPath: "/k.pem", keyPassword: "pw")),
        ])
        #expect(proxy.sites == [
            .init(name: "primary", pools: ["http://minio{1...4}:9000", "http://minio{5...8}:9000"]),
            .init(name: "dr", pools: ["https://dr-minio{1...4}:9000"]),
        ])
        #expect(try proxy.resolvedSites().map(\.backends.count) == [8, 4])
        #expect(proxy.balance == .p2cEWMA)
        #expect(proxy.health == .init(path: "/minio/health/ready", readPath: "/minio/health/read", port: 9001, interval: .seconds(2), timeout: .seconds(1), optimistic: true))
        #expect(proxy.upstream.tls == .init(insecure: true, caPath: "/ca.pem", certificatePath: "/client.pem", keyPath: "/client.key"))
        #expect(proxy.upstream.connectTimeout == .seconds(3))
        #expect(proxy.upstream.idleTimeout == .seconds(20))
        #expect(proxy.upstream.maxIdlePerBackend == 64)
        #expect(proxy.retry.attempts == 3)
        #expect(proxy.trace == .init(enabled: true, format: .json, filter: .application, errorsOnly: true, statusCodes: [502, 504]))
        #expect(proxy.limits == .init(maxHeaderBytes: 32 << 10, headerReadTimeout: .seconds(5), idleTimeout: .seconds(60), maxConnections: 500))
    }

    @Test func sidekickDefaults() throws {
        let proxy = try parse("  proxy:\n    sites:\n      - pools: [\"http://127.0.0.1:9000\"]\n")
        #expect(proxy.listeners == [.init(host: "", port: 8080)])
        #expect(proxy.balance == .least)
        #expect(proxy.health == .init())
        #expect(proxy.retry.attempts == 2)
        #expect(!proxy.trace.enabled)
        #expect(try proxy.resolvedSites().map(\.name) == ["site1"])
    }

    @Test func problemsArePlacedWhereTheyAre() {
        #expect(problems("  proxy:\n    listen: [\":8080\"]\n") == ["3:5: roles.proxy is missing required key 'sites'"])
        #expect(problems("  proxy:\n    balance: fastest\n    sites: [{pools: [\"http://a:1\"]}]\n") == ["3:14: expected one of least, random, round_robin, p2c_ewma, found 'fastest'"])
        #expect(problems("  proxy:\n    helth: {path: /}\n    sites: [{pools: [\"http://a:1\"]}]\n") == ["3:5: unknown key 'helth' in roles.proxy (did you mean 'health'?)"])
        #expect(problems("  proxy:\n    sites: [{pools: [\"http://a:1\"], weight: 2}]\n") == ["3:37: unknown key 'weight' in roles.proxy.sites[0] (known keys: name, pools)"])
        #expect(problems("  proxy:\n    health: {interval: 5}\n    sites: [{pools: [\"http://a:1\"]}]\n") == ["3:24: invalid duration '5': '5' needs a unit (ns, us, ms, s, m, h, d)"])
        #expect(problems("  proxy:\n    trace: {status_codes: [700]}\n    sites: [{pools: [\"http://a:1\"]}]\n") == ["3:27: trace.status_codes: 700 is not an HTTP status code"])
        #expect(problems("  proxy:\n    listen: [{address: \":1\", tls: {cert: /c}}]\n    sites: [{pools: [\"http://a:1\"]}]\n") == ["3:35: roles.proxy.listen[].tls is missing required key 'key'"])
    }

    @Test func invalidPoolIsReportedAtThePool() throws {
        let found = problems("  proxy:\n    sites:\n      - pools: [\"http://a:1\", \"http://b{1...2:1\"]\n")
        try #require(found.count == 1)
        #expect(found[0].hasPrefix("4:31: roles.proxy: site site1: pool \"http://b{1...2:1\""), "\(found[0])")
    }

    @Test func summary() throws {
        let configuration = try OutriderConfiguration.parse(
            "roles:\n  proxy:\n    listen: [\"127.0.0.1:8000\"]\n    sites:\n      - pools: [\"http://m{1...4}:9000\"]\n      - name: dr\n        pools: [\"http://d:9000\"]\n",
            path: "p.yaml", catalog: catalog, environment: [:]
        )
        #expect(configuration.roles.first?.summary == "listen 127.0.0.1:8000; 2 sites (site1: 4 backends, dr: 1 backend); balance least")
    }
}
