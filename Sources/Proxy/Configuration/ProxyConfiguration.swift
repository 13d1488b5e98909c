/// Everything the proxy needs to run: where to listen, where to send requests and how.
///
/// The defaults are sidekick's: listen on `:8080`, check health every 5 s (plus jitter) with a
/// 10 s timeout, retry idempotent requests on another backend. Call ``resolvedSites()`` to
/// validate the sites and expand their `{a...b}` patterns; ``ProxyServer`` does so itself and
/// rejects a configuration that does not resolve.
public struct ProxyConfiguration: Sendable, Equatable {
    public var listeners: [Listener]
    /// Sites in failover order: a request goes to the first site with a backend online.
    public var sites: [Site]
    public var balance: BalancePolicy
    public var health: HealthCheck
    public var upstream: Upstream
    public var retry: Retry
    public var trace: Trace
    public var limits: Limits
    /// Whether `CONNECT` requests are forwarded to backends, whose 2xx answer turns the client's
    /// connection into a tunnel to them; refused with 405 when false, the default, since a
    /// reverse proxy in front of origin servers has no use for it.
    public var allowConnect: Bool
    /// Virtual hosts: when any is given, a request goes to the site its `Host` names (exact names first, then the
    /// longest matching `*.` wildcard), or to ``defaultSite``, or is answered `404`; without routes every request
    /// goes to the sites in failover order.
    public var routes: [Route] = []
    /// The site of a request whose `Host` no route names; `nil`: such a request gets `404`.
    public var defaultSite: String?
    /// Whether sites (and listeners with their own virtual hosts) are added while the proxy runs, for the
    /// applications members announce: the configuration may then have no site of its own.
    public var sitesAddedAtRunTime = false

    public init(
        listeners: [Listener] = [Listener()],
        sites: [Site],
        balance: BalancePolicy = .least,
        health: HealthCheck = HealthCheck(),
        upstream: Upstream = Upstream(),
        retry: Retry = Retry(),
        trace: Trace = Trace(),
        limits: Limits = Limits(),
        allowConnect: Bool = false
    ) {
        self.listeners = listeners
        self.sites = sites
        self.balance = balance
        self.health = health
        self.upstream = upstream
        self.retry = retry
        self.trace = trace
        self.limits = limits
        self.allowConnect = allowConnect
    }
}

extension ProxyConfiguration {
    /// The host names one site serves: `example.com`, or `*.example.com` for every name below `example.com` (not
    /// `example.com` itself), compared without case and without the port.
    public struct Route: Sendable, Equatable {
        public var hosts: [String]
        /// The name of the site (its resolved name: `siteN` for one without a name).
        public var site: String

        public init(hosts: [String], site: String) {
            self.hosts = hosts
            self.site = site
        }
    }

    /// An address to accept client connections on, optionally terminating TLS.
    public struct Listener: Sendable, Equatable {
        /// The host or IP address to bind; `""` binds every IPv4 and IPv6 address, like Go's `:8080`.
        public var host: String
        /// The port to bind; `0` asks the system for a free port (see ``ProxyServer/localAddresses``).
        public var port: Int
        public var tls: ServerTLS?
        /// This listener's own virtual hosts, in place of the configuration's ``ProxyConfiguration/routes`` and
        /// ``ProxyConfiguration/defaultSite``: nginx's `server_name` per `listen` port, for the listeners opened for
        /// announced applications. Changing them rebinds nothing: the listener keeps its socket and connections.
        public var virtualHosts: VirtualHosts?

        public init(host: String = "", port: Int = 8080, tls: ServerTLS? = nil, virtualHosts: VirtualHosts? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
            self.virtualHosts = virtualHosts
        }

        /// Whether `other` binds the same socket the same way (everything but the virtual hosts' contents).
        func bindsAs(_ other: Listener) -> Bool {
            host == other.host && port == other.port && tls == other.tls && (virtualHosts == nil) == (other.virtualHosts == nil)
        }
    }

    /// The sites one listener routes to by `Host`: exact names first, then the longest matching `*.` wildcard, then
    /// ``defaultSite``, else `404`.
    public struct VirtualHosts: Sendable, Equatable {
        public var routes: [Route]
        public var defaultSite: String?

        public init(routes: [Route], defaultSite: String? = nil) {
            self.routes = routes
            self.defaultSite = defaultSite
        }
    }

    /// A certificate and key in PEM files; they are read again when the files change.
    public struct ServerTLS: Sendable, Equatable {
        public var certificatePath: String
        public var keyPath: String
        /// The passphrase of an encrypted private key.
        public var keyPassword: String?
        /// How often the files are checked for change.
        public var reloadInterval: Duration

        public init(certificatePath: String, keyPath: String, keyPassword: String? = nil, reloadInterval: Duration = .seconds(10)) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.keyPassword = keyPassword
            self.reloadInterval = reloadInterval
        }
    }

    /// A group of backends that fail over together, like one sidekick `SITE` argument.
    public struct Site: Sendable, Equatable {
        /// The site's name in metrics, status and traces; empty names become `site1`, `site2`, ...
        public var name: String
        /// Backend URLs such as `http://minio{1...4}:9000`, one string per pool.
        public var pools: [String]
        /// Whether the site's backends are also set while the proxy runs (``ProxyServer/replaceBackends(ofSite:with:)``),
        /// from pools that membership fills: such a site may start with no pools, and serves `502` while it has no
        /// backend.
        public var backendsSetAtRunTime: Bool
        /// Whether the site is reached only through a route naming it (a listener's ``VirtualHosts``, or
        /// ``ProxyConfiguration/routes``), never by failover from the sites before it: the sites of announced
        /// applications. Such sites come after all the others.
        public var routedOnly: Bool

        public init(name: String = "", pools: [String], backendsSetAtRunTime: Bool = false, routedOnly: Bool = false) {
            self.name = name
            self.pools = pools
            self.backendsSetAtRunTime = backendsSetAtRunTime
            self.routedOnly = routedOnly
        }
    }

    /// How backends are checked; see ``HealthCheckSchedule`` for the timing.
    public struct HealthCheck: Sendable, Equatable {
        /// The path requested with `GET`; a backend is healthy iff it answers 200 in time.
        public var path: String
        /// The path used for the backends of the last site, sidekick's `--read-health-path`:
        /// a failover site that only serves reads (a replica) reports read readiness.
        public var readPath: String?
        /// The port to check on; `0` means each backend's own port.
        public var port: Int
        public var interval: Duration
        public var timeout: Duration
        /// When true, backends that are up are not polled; only a proxying error takes one down,
        /// after which it is checked until it passes.
        public var optimistic: Bool

        public init(
            path: String = "/",
            readPath: String? = nil,
            port: Int = 0,
            interval: Duration = .seconds(5),
            timeout: Duration = .seconds(10),
            optimistic: Bool = false
        ) {
            self.path = path
            self.readPath = readPath
            self.port = port
            self.interval = interval
            self.timeout = timeout
            self.optimistic = optimistic
        }
    }

    /// Connections from the proxy to backends.
    public struct Upstream: Sendable, Equatable {
        public var tls: ClientTLS
        public var connectTimeout: Duration
        /// How long a pooled keep-alive connection may stay unused before it is closed.
        public var idleTimeout: Duration
        /// The most unused keep-alive connections kept per backend and event loop.
        public var maxIdlePerBackend: Int
        /// How long to wait for a response head after the request was sent; then the client gets 504.
        public var responseTimeout: Duration

        public init(
            tls: ClientTLS = ClientTLS(),
            connectTimeout: Duration = .seconds(10),
            idleTimeout: Duration = .seconds(15),
            maxIdlePerBackend: Int = 1024,
            responseTimeout: Duration = .seconds(300)
        ) {
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.idleTimeout = idleTimeout
            self.maxIdlePerBackend = maxIdlePerBackend
            self.responseTimeout = responseTimeout
        }
    }

    /// TLS towards `https://` backends, sidekick's `--insecure`, `--cacert`, `--client-cert`, `--client-key`.
    public struct ClientTLS: Sendable, Equatable {
        /// Skips certificate verification.
        public var insecure: Bool
        /// PEM file of the CA certificates to trust instead of the system's.
        public var caPath: String?
        public var certificatePath: String?
        public var keyPath: String?

        public init(insecure: Bool = false, caPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil) {
            self.insecure = insecure
            self.caPath = caPath
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// Retries of requests whose backend failed before sending any response byte.
    public struct Retry: Sendable, Equatable {
        /// How many further backends are tried after the first; only `GET`, `HEAD`, `OPTIONS` and
        /// bodiless `DELETE` are retried, since replaying them cannot change the result (RFC 9110 9.2.2).
        public var attempts: Int

        public init(attempts: Int = 2) {
            self.attempts = attempts
        }
    }

    /// Request tracing, sidekick's `--trace` with `--json`.
    public struct Trace: Sendable, Equatable {
        public enum Format: String, Sendable, Equatable {
            case json
        }

        /// Sidekick's trace filter: `all` traces every request, `application` leaves out the
        /// proxy's own endpoints (`/v1/health`).
        public enum Filter: String, Sendable, Equatable {
            case all
            case application
        }

        public var enabled: Bool
        public var format: Format
        public var filter: Filter
        /// Traces only responses with status 400 and above.
        public var errorsOnly: Bool
        /// Traces only these statuses when not empty.
        public var statusCodes: [Int]

        public init(enabled: Bool = false, format: Format = .json, filter: Filter = .all, errorsOnly: Bool = false, statusCodes: [Int] = []) {
            self.enabled = enabled
            self.format = format
            self.filter = filter
            self.errorsOnly = errorsOnly
            self.statusCodes = statusCodes
        }
    }

    /// Protections against clients that send too much or too slowly.
    public struct Limits: Sendable, Equatable {
        /// The largest request line plus header block accepted; larger gets 400.
        public var maxHeaderBytes: Int
        /// How long a client may take to send a complete request head (slowloris).
        public var headerReadTimeout: Duration
        /// How long a keep-alive connection may sit between requests.
        public var idleTimeout: Duration
        /// The most client connections open at once over all listeners; more are closed on accept.
        public var maxConnections: Int

        public init(
            maxHeaderBytes: Int = 64 * 1024,
            headerReadTimeout: Duration = .seconds(30),
            idleTimeout: Duration = .seconds(120),
            maxConnections: Int = 10_000
        ) {
            self.maxHeaderBytes = maxHeaderBytes
            self.headerReadTimeout = headerReadTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
        }
    }
}
