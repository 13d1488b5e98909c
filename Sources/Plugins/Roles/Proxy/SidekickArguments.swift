import Foundation
import Plugins
import Proxy

/// sidekick's command line (`sidekick [FLAGS] SITE1 [SITE2..]`), translated into a ``ProxyConfiguration`` so that
/// `outrider sidekick` is a drop-in replacement in scripts, containers and Kubernetes sidecars.
///
/// Values keep sidekick's conventions: `--health-duration` and `--health-timeout` are seconds (a duration such
/// as `1500ms` is accepted too), each SITE is a comma-separated list of pools, and sites are in failover order.
public struct SidekickArguments: Sendable, Equatable {
    public var address = ":8080"
    public var healthPath = "/"
    public var readHealthPath: String?
    public var healthPort = 0
    public var healthDuration = "5"
    public var healthTimeout = "10"
    public var healthOptimistic = false
    public var hostBalance = "least"
    public var insecure = false
    public var caCert: String?
    public var clientCert: String?
    public var clientKey: String?
    public var cert: String?
    public var key: String?
    /// The trace filter given with `--trace`; nil when tracing is off.
    public var trace: String?
    public var errorsOnly = false
    public var statusCodes: [String] = []
    public var sites: [String] = []

    public init() {}

    /// A flag value that sidekick would accept but this translation cannot use, naming the flag.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public func proxyConfiguration() throws(Problem) -> ProxyConfiguration {
        guard !sites.isEmpty else {
            throw Problem(message: "at least one SITE is required, for example http://minio{1...4}:9000")
        }
        let listen: ListenAddress
        do {
            listen = try ListenAddress.parse(address)
        } catch {
            throw Problem(message: "--address: \(error.message)")
        }
        var configuration = ProxyConfiguration(
            listeners: [.init(host: listen.host, port: listen.port)],
            sites: sites.map { site in
                ProxyConfiguration.Site(pools: site.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            }
        )
        if let cert, let key {
            configuration.listeners[0].tls = .init(certificatePath: cert, keyPath: key)
        } else if cert != nil || key != nil {
            throw Problem(message: "--cert and --key go together: give both to serve TLS")
        }
        configuration.health.path = healthPath.isEmpty ? "/" : healthPath
        if let readHealthPath {
            guard sites.count > 1 else {
                throw Problem(message: "--read-health-path applies to the failover site; give a second SITE")
            }
            configuration.health.readPath = readHealthPath
        }
        guard (0...65535).contains(healthPort) else {
            throw Problem(message: "--health-port must be between 0 and 65535, found \(healthPort)")
        }
        configuration.health.port = healthPort
        configuration.health.interval = try Self.seconds(healthDuration, flag: "--health-duration")
        configuration.health.timeout = try Self.seconds(healthTimeout, flag: "--health-timeout")
        configuration.health.optimistic = healthOptimistic
        guard let balance = BalancePolicy(rawValue: hostBalance) else {
            throw Problem(message: "--host-balance must be one of \(BalancePolicy.allCases.map(\.rawValue).joined(separator: ", ")), found '\(hostBalance)'")
        }
        configuration.balance = balance
        configuration.upstream.tls = .init(insecure: insecure, caPath: caCert, certificatePath: clientCert, keyPath: clientKey)
        if (clientCert == nil) != (clientKey == nil) {
            throw Problem(message: "--client-cert and --client-key go together")
        }
        if let trace {
            switch trace {
            case "all": configuration.trace = .init(enabled: true, filter: .all)
            case "application": configuration.trace = .init(enabled: true, filter: .application)
            case "minio":
                throw Problem(message: "--trace minio is not supported: outrider traces HTTP requests, not MinIO's internal calls; use --trace all or --trace application")
            default:
                throw Problem(message: "--trace must be all or application, found '\(trace)'")
            }
        }
        configuration.trace.errorsOnly = errorsOnly
        for code in statusCodes.flatMap({ $0.split(separator: ",") }) {
            guard let status = Int(code.trimmingCharacters(in: .whitespaces)), (100...599).contains(status) else {
                throw Problem(message: "--status-code: '\(code)' is not an HTTP status code")
            }
            configuration.trace.statusCodes.append(status)
        }
        if (errorsOnly || !configuration.trace.statusCodes.isEmpty) && trace == nil {
            throw Problem(message: "--errors and --status-code filter the trace: add --trace all")
        }
        do {
            _ = try configuration.validate()
        } catch {
            throw Problem(message: error.description)
        }
        return configuration
    }

    /// sidekick's seconds, or a duration with a unit.
    static func seconds(_ text: String, flag: String) throws(Problem) -> Duration {
        if let whole = Int(text) {
            guard whole > 0 else { throw Problem(message: "\(flag) must be at least 1 second, found \(text)") }
            return .seconds(whole)
        }
        let problem = Problem(message: "\(flag) takes seconds (5) or a duration (1500ms), found '\(text)'")
        guard let duration = try? ConfigDuration.parse(text), duration > .zero else { throw problem }
        return duration
    }
}
