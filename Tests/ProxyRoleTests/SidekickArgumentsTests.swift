import Foundation
import Plugins
import Proxy
import ProxyRole
import Testing

@Suite struct SidekickArgumentsTests {
    func arguments(_ sites: [String], _ change: (inout SidekickArguments) -> Void = { _ in }) -> SidekickArguments {
        var arguments = SidekickArguments()
        arguments.sites = sites
        change(&arguments)
        return arguments
    }

    func problem(_ arguments: SidekickArguments) -> String? {
        do {
            _ = try arguments.proxyConfiguration()
            return nil
        } catch {
            return error.message
        }
    }

    @Test func defaultsAreSidekicks() throws {
        let configuration = try arguments(["http://minio{1...4}:9000"]).proxyConfiguration()
        #expect(configuration.listeners == [.init(host: "", port: 8080)])
        #expect(configuration.health.path == "/")
        #expect(configuration.health.interval == .seconds(5))
        #expect(configuration.health.timeout == .seconds(10))
        #expect(configuration.balance == .least)
        #expect(!configuration.trace.enabled)
        #expect(try configuration.resolvedSites().first?.backends.count == 4)
    }

    @Test func everyFlagTranslates() throws {
        let configuration = try arguments(["http://a{1...2}:9000,http://b{1...2}:9000", "https://dr:9000"]) {
            $0.address = "127.0.0.1:9000"
            $0.healthPath = "/minio/health/ready"
            $0.readHealthPath = "/minio/health/read"
            $0.healthPort = 9001
            $0.healthDuration = "2"
            $0.healthTimeout = "1500ms"
            $0.healthOptimistic = true
            $0.hostBalance = "random"
            $0.insecure = true
            $0.caCert = "/ca.pem"
            $0.clientCert = "/c.pem"
            $0.clientKey = "/c.key"
            $0.cert = "/s.pem"
            $0.key = "/s.key"
            $0.trace = "application"
            $0.errorsOnly = true
            $0.statusCodes = ["502,503", "504"]
        }.proxyConfiguration()
        #expect(configuration.listeners == [.init(host: "127.0.0.1", port: 9000, tls: .init(certificatePath: "/s.pem", keyPath: "/s.key"))])
        #expect(configuration.sites.map(\.pools) == [["http://a{1...2}:9000", "http://b{1...2}:9000"], ["https://dr:9000"]])
        #expect(configuration.health == .init(path: "/minio/health/ready", readPath: "/minio/health/read", port: 9001, interval: .seconds(2), timeout: .milliseconds(1500), optimistic: true))
        #expect(configuration.balance == .random)
        #expect(configuration.upstream.tls == .init(insecure: true, caPath: "/ca.pem", certificatePath: "/c.pem", keyPath: "/c.key"))
        #expect(configuration.trace == .init(enabled: true, filter: .application, errorsOnly: true, statusCodes: [502, 503, 504]))
    }

    @Test func problemsNameTheFlag() {
        #expect(problem(arguments([])) == "at least one SITE is required, for example http://minio{1...4}:9000")
        #expect(problem(arguments(["http://a:1"]) { $0.trace = "minio" })?.hasPrefix("--trace minio is not supported") == true)
        #expect(problem(arguments(["http://a:1"]) { $0.trace = "everything" }) == "--trace must be all or application, found 'everything'")
        #expect(problem(arguments(["http://a:1"]) { $0.readHealthPath = "/r" }) == "--read-health-path applies to the failover site; give a second SITE")
        #expect(problem(arguments(["http://a:1"]) { $0.healthDuration = "soon" }) == "--health-duration takes seconds (5) or a duration (1500ms), found 'soon'")
        #expect(problem(arguments(["http://a:1"]) { $0.healthDuration = "0" }) == "--health-duration must be at least 1 second, found 0")
        #expect(problem(arguments(["http://a:1"]) { $0.hostBalance = "fastest" }) == "--host-balance must be one of least, random, round_robin, p2c_ewma, found 'fastest'")
        #expect(problem(arguments(["http://a:1"]) { $0.cert = "/c" }) == "--cert and --key go together: give both to serve TLS")
        #expect(problem(arguments(["http://a:1"]) { $0.address = "8080" }) == "--address: invalid address '8080': missing ':port' (for example :8080)")
        #expect(problem(arguments(["http://a:1"]) { $0.errorsOnly = true }) == "--errors and --status-code filter the trace: add --trace all")
        #expect(problem(arguments(["http://a:1"]) { $0.trace = "all"; $0.statusCodes = ["5xx"] }) == "--status-code: '5xx' is not an HTTP status code")
        #expect(problem(arguments(["minio:9000"])) == "site site1: pool \"minio:9000\": missing scheme")
    }
}

@Suite struct SidekickTableTests {
    @Test func rowsPerBackendWithSidekicksColumns() throws {
        let json = """
            {"sites": [{"name": "primary", "backends": [
              {"endpoint": "http://minio1:9000", "status": "online", "calls": 1200, "failures": 3, "downtimeSeconds": 75,
               "lastDowntimeSeconds": 2.5, "minLatencySeconds": 0.0004, "maxLatencySeconds": 0.25, "inFlight": 0,
               "rxBytes": 2048, "txBytes": 5242880},
              {"endpoint": "http://minio2:9000", "status": "offline", "calls": 0, "failures": 0, "downtimeSeconds": 0,
               "lastDowntimeSeconds": 0, "inFlight": 0, "rxBytes": 10, "txBytes": 0}]}]}
            """
        let status = try JSONDecoder().decode(ProxyStatus.self, from: Data(json.utf8))
        let lines = SidekickTable.render(status).split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true).first == "SITE")
        #expect(lines[0].contains("TOTAL DOWNTIME") && lines[0].contains("MAX LATENCY"))
        #expect(
            lines[1].split(separator: " ").map(String.init)
                == ["primary", "http://minio1:9000", "UP", "1200", "3", "2.0", "KiB", "5.0", "MiB", "1m15s", "2.5s", "400µs", "250.0ms"]
        )
        #expect(lines[2].split(separator: " ").map(String.init) == ["primary", "http://minio2:9000", "DOWN", "0", "0", "10", "B", "0", "B", "0s", "0s", "-", "-"])
        // Columns line up: every row's HOST starts where the header's does.
        let hostColumn = try #require(lines[0].range(of: "HOST")).lowerBound.utf16Offset(in: lines[0])
        #expect(try #require(lines[1].range(of: "http://minio1")).lowerBound.utf16Offset(in: lines[1]) == hostColumn)
        #expect(SidekickTable.frame(status).hasPrefix("\u{1B}[H\u{1B}[2J"))
    }
}
