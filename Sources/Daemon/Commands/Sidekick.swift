import ArgumentParser
import CacheRole
import Foundation
import Logging
import Plugins
import Proxy
import ProxyRole

/// `outrider sidekick [FLAGS] SITE1 [SITE2..]`: sidekick's command line, running the proxy role alone.
struct Sidekick: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy role alone from sidekick's flags: a drop-in for `sidekick [FLAGS] SITE1 [SITE2..]`.",
        discussion: """
            Each SITE is a comma-separated list of pools of the same site, such as \
            http://minio{1...4}:9000,http://minio{5...8}:9000. When every server of SITE1 is down, requests go to \
            SITE2, and so on. On a terminal, without --log, --trace or --quiet, a live table of the backends is shown.
            """
    )

    @Option(name: [.customLong("address"), .customShort("a")], help: "Listening address.")
    var address = ":8080"

    @Option(name: [.customLong("health-path"), .customShort("p")], help: "Health check path.")
    var healthPath = "/"

    @Option(name: [.customLong("read-health-path"), .customShort("r")], help: "Health check path for read access, used for the failover site.")
    var readHealthPath: String?

    @Option(name: .customLong("health-port"), help: "Health check port (0: the backend's own).")
    var healthPort = 0

    @Option(name: [.customLong("health-duration"), .customShort("d")], help: "Health check interval, in seconds.")
    var healthDuration = "5"

    @Option(name: .customLong("health-timeout"), help: "Health check timeout, in seconds.")
    var healthTimeout = "10"

    @Flag(name: .customLong("health-optimistic"), help: "Only check backends that are down.")
    var healthOptimistic = false

    @Option(name: .customLong("host-balance"), help: "Balancing: least, random, round_robin or p2c_ewma.")
    var hostBalance = "least"

    @Flag(name: [.customLong("insecure"), .customShort("i")], help: "Disable TLS certificate verification towards backends.")
    var insecure = false

    @Option(name: .customLong("cacert"), help: "CA certificate to verify backends against.")
    var caCert: String?

    @Option(name: .customLong("client-cert"), help: "Client certificate file, presented to backends.")
    var clientCert: String?

    @Option(name: .customLong("client-key"), help: "Client private key file.")
    var clientKey: String?

    @Option(name: .customLong("cert"), help: "Server certificate file: serve TLS.")
    var cert: String?

    @Option(name: .customLong("key"), help: "Server private key file.")
    var key: String?

    @Flag(name: [.customLong("log"), .customShort("l")], help: "Enable logging.")
    var log = false

    @Option(name: [.customLong("trace"), .customShort("t")], help: "Enable request tracing: all or application.")
    var trace: String?

    @Flag(name: [.customLong("quiet"), .customShort("q")], help: "Disable console messages.")
    var quiet = false

    @Flag(name: .customLong("json"), help: "Output logs and trace in JSON.")
    var json = false

    @Flag(name: .customLong("debug"), help: "Output verbose logs.")
    var debug = false

    @Flag(name: [.customLong("errors"), .customShort("e")], help: "Trace only requests that failed (status 400 and above).")
    var errors = false

    @Option(name: .customLong("status-code"), help: "Trace only these status codes (repeat or separate with commas).")
    var statusCodes: [String] = []

    @Option(name: .customLong("admin"), help: "Also serve outrider's admin endpoints (/metrics, /healthz, /v1/status) on this address.")
    var admin: String?

    @Argument(help: "Sites in failover order, each a comma-separated list of pools.")
    var sites: [String] = []


    var arguments: SidekickArguments {
        var arguments = SidekickArguments()
        arguments.address = address
        arguments.healthPath = healthPath
        arguments.readHealthPath = readHealthPath
        arguments.healthPort = healthPort
        arguments.healthDuration = healthDuration
        arguments.healthTimeout = healthTimeout
        arguments.healthOptimistic = healthOptimistic
        arguments.hostBalance = hostBalance
        arguments.insecure = insecure
        arguments.caCert = caCert
        arguments.clientCert = clientCert
        arguments.clientKey = clientKey
        arguments.cert = cert
        arguments.key = key
        arguments.trace = trace
        arguments.errorsOnly = errors
        arguments.statusCodes = statusCodes
        arguments.sites = sites
        return arguments
    }

    /// Checks run in `run()` rather than `validate()`: argument-parser reports an unknown option only after
    /// `validate()`, and a sidekick flag this command lacks must be named as such, not as a bad SITE.
    func checkArguments() throws -> ProxyConfiguration {
        _ = try checkCache()
        if let admin {
            do { _ = try ListenAddress.parse(admin) } catch { throw ValidationError("--admin: \(error.message)") }
        }
        switch Result(catching: { () throws(SidekickArguments.Problem) in try arguments.proxyConfiguration() }) {
        case .success(let configuration): return configuration
        case .failure(let problem): throw ValidationError(problem.message)
        }
    }

    /// sidekick's S3 cache from its `SIDEKICK_CACHE_*` variables, run as the cache role; `nil` when none is set.
    func checkCache() throws -> CacheRoleSettings? {
        let cache: CacheRoleSettings?
        do {
            cache = try CacheRoleSettings.sidekick(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.message)
        }
        return cache
    }

    func run() async throws {
        let proxy = try checkArguments()
        let cache = try checkCache()
        let level: Logger.Level = debug ? .debug : (log ? .info : .error)
        let output = LogOutput(level: level, format: json ? .json : .text)
        LoggingSystem.bootstrap { label in OutriderLogHandler(label: label, output: output) }
        let plugin = ProxyRolePlugin()
        let configuration = OutriderConfiguration(
            path: "",
            adminListen: try admin.map { try ListenAddress.parse($0) } ?? ListenAddress(host: "127.0.0.1", port: 9901),
            logLevel: level,
            logFormat: json ? .json : .text,
            roles: [plugin.declaration(of: ProxyRoleSettings(proxy: proxy))] + (cache.map { [CacheRolePlugin().declaration(of: $0)] } ?? [])
        )
        let console = isatty(STDOUT_FILENO) == 1 && !quiet && !log && trace == nil
        var options = RunningDaemon.Options()
        options.admin = admin != nil
        options.reloadable = false
        if console {
            options.extraServices = { host in [SidekickConsole(host: host)] }
        }
        let status = await RunningDaemon.run(
            configuration: configuration,
            overrides: .init(),
            catalog: RoleCatalog([AnyRolePlugin(CacheRolePlugin()), AnyRolePlugin(plugin)]),
            output: output,
            options: options
        )
        if status != .clean { throw ExitCode(status.rawValue) }
    }
}
