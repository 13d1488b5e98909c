import Membership
import Plugins
import Proxy

extension BalancePolicy: ConfigEnumeration {}
extension ProxyConfiguration.Trace.Filter: ConfigEnumeration {
    public static var allCases: [Self] { [.all, .application] }
}

extension ProxyConfiguration.Trace.Format: ConfigEnumeration {
    public static var allCases: [Self] { [.json] }
}

/// Reads `roles.proxy` into ``ProxyRoleSettings``; every key of the schema, with sidekick's defaults.
enum ProxySection {
    static func decode(_ section: ConfigMapping) throws -> ProxyRoleSettings {
        let decoder = section.decoder
        let before = decoder.problemCount
        var configuration = ProxyConfiguration(sites: [])
        var discovered: [ProxyRoleSettings.DiscoveredPool] = []

        if let listen = section.optional("listen", as: [ProxyListenEntry].self) {
            configuration.listeners = listen.map(\.listener)
            if listen.isEmpty { decoder.record("proxy.listen needs at least one address", at: section.value("listen")?.location ?? section.location) }
        }

        var poolLocations: [String: SourceLocation] = [:]
        let sitesValue = section.value("sites")
        if let sitesValue, case .sequence(let items) = sitesValue.kind {
            for (index, item) in items.enumerated() {
                guard let site = decoder.mapping(item, describing: "roles.proxy.sites[\(index)]") else { continue }
                let name = site.value("name", default: "")
                let resolvedName = name.isEmpty ? "site\(index + 1)" : name
                var pools: [String] = []
                var applications: [Located<String>] = []
                let poolValues: [ConfigValue]
                switch site.value("pools")?.kind {
                case .sequence(let values)?: poolValues = values
                case .scalar?: poolValues = [site.value("pools")!]
                default: poolValues = []
                }
                _ = site.required("pools", as: [String].self)
                for value in poolValues {
                    guard case .scalar(let text, _) = value.kind else { continue }
                    poolLocations[text] = value.location
                    if text.hasPrefix(ProxyRoleSettings.discoveredScheme) {
                        let application = String(text.dropFirst(ProxyRoleSettings.discoveredScheme.count))
                        let probe = Application(name: application, listenPort: 443, applicationPort: 1, transport: .http, domains: ["a"])
                        if let problem = probe.problems.first {
                            decoder.record("roles.proxy.sites[\(index)].pools: \(text): the application's \(problem)", at: value.location)
                        } else if applications.contains(where: { $0.value == application }) {
                            decoder.record("roles.proxy.sites[\(index)].pools: \(text) is named twice", at: value.location)
                        } else {
                            applications.append(Located(application, at: value.location))
                        }
                    } else {
                        pools.append(text)
                    }
                }
                site.finish()
                discovered += applications.map { ProxyRoleSettings.DiscoveredPool(site: resolvedName, application: $0) }
                configuration.sites.append(.init(name: name, pools: pools, backendsSetAtRunTime: !applications.isEmpty))
            }
        } else if let sitesValue {
            decoder.record("roles.proxy.sites must be a list of sites, found \(sitesValue.kindDescription)", at: sitesValue.location)
        } else if section.value("discover", default: false) != true {
            decoder.record("roles.proxy is missing required key 'sites'", at: section.location)
        }

        configuration.balance = section.value("balance", default: configuration.balance)

        if let health = section.mapping("health") {
            configuration.health.path = health.value("path", default: configuration.health.path)
            configuration.health.readPath = health.optional("read_path", as: String.self)
            configuration.health.port = health.value("port", default: 0, in: 0...65535)
            configuration.health.interval = health.value("interval", default: configuration.health.interval, in: .milliseconds(10) ... .seconds(86400))
            configuration.health.timeout = health.value("timeout", default: configuration.health.timeout, in: .milliseconds(1) ... .seconds(3600))
            configuration.health.optimistic = health.value("optimistic", default: false)
            health.finish()
        }

        if let upstream = section.mapping("upstream") {
            if let tls = upstream.mapping("tls") {
                configuration.upstream.tls.insecure = tls.value("insecure", default: false)
                configuration.upstream.tls.caPath = tls.optional("ca", as: String.self)
                configuration.upstream.tls.certificatePath = tls.optional("cert", as: String.self)
                configuration.upstream.tls.keyPath = tls.optional("key", as: String.self)
                if (configuration.upstream.tls.certificatePath == nil) != (configuration.upstream.tls.keyPath == nil) {
                    decoder.record("upstream.tls needs both cert and key for a client certificate", at: tls.location)
                }
                tls.finish()
            }
            configuration.upstream.connectTimeout = upstream.value("connect_timeout", default: configuration.upstream.connectTimeout, in: .milliseconds(1) ... .seconds(3600))
            configuration.upstream.idleTimeout = upstream.value("idle_timeout", default: configuration.upstream.idleTimeout, in: .milliseconds(1) ... .seconds(86400))
            configuration.upstream.responseTimeout = upstream.value("response_timeout", default: configuration.upstream.responseTimeout, in: .milliseconds(1) ... .seconds(86400))
            configuration.upstream.maxIdlePerBackend = upstream.value("max_idle_per_backend", default: configuration.upstream.maxIdlePerBackend, in: 0...1_000_000)
            upstream.finish()
        }

        if let retry = section.mapping("retry") {
            configuration.retry.attempts = retry.value("attempts", default: configuration.retry.attempts, in: 0...16)
            retry.finish()
        }

        if let trace = section.mapping("trace") {
            configuration.trace.enabled = trace.value("enabled", default: false)
            configuration.trace.format = trace.value("format", default: configuration.trace.format)
            configuration.trace.filter = trace.value("filter", default: configuration.trace.filter)
            configuration.trace.errorsOnly = trace.value("errors_only", default: false)
            configuration.trace.statusCodes = trace.value("status_codes", default: [Int]())
            if let bad = configuration.trace.statusCodes.first(where: { !(100...599).contains($0) }) {
                decoder.record("trace.status_codes: \(bad) is not an HTTP status code", at: trace.value("status_codes")?.location ?? trace.location)
            }
            trace.finish()
        }

        configuration.allowConnect = section.value("allow_connect", default: false)

        let routesValue = section.value("routes")
        if let routesValue, case .sequence(let items) = routesValue.kind {
            for (index, item) in items.enumerated() {
                guard let route = decoder.mapping(item, describing: "roles.proxy.routes[\(index)]") else { continue }
                let hosts = route.required("hosts", as: [String].self) ?? []
                let site = route.required("site", as: String.self) ?? ""
                if hosts.isEmpty, route.value("hosts") != nil {
                    decoder.record("roles.proxy.routes[\(index)].hosts needs at least one host", at: route.value("hosts")?.location ?? route.location)
                }
                route.finish()
                configuration.routes.append(.init(hosts: hosts, site: site))
            }
        } else if let routesValue {
            decoder.record("roles.proxy.routes must be a list of {hosts, site}, found \(routesValue.kindDescription)", at: routesValue.location)
        }
        configuration.defaultSite = section.optional("default_site", as: String.self)

        if let limits = section.mapping("limits") {
            configuration.limits.maxHeaderBytes = limits.value("max_header_size", default: ByteSize(bytes: configuration.limits.maxHeaderBytes)).bytes
            configuration.limits.headerReadTimeout = limits.value("header_read_timeout", default: configuration.limits.headerReadTimeout, in: .milliseconds(1) ... .seconds(3600))
            configuration.limits.idleTimeout = limits.value("idle_timeout", default: configuration.limits.idleTimeout, in: .milliseconds(1) ... .seconds(86400))
            configuration.limits.maxConnections = limits.value("max_connections", default: configuration.limits.maxConnections, in: 1...10_000_000)
            limits.finish()
        }

        let discovery = decodeDiscovery(section, configuration: configuration)
        configuration.sitesAddedAtRunTime = discovery != nil

        if decoder.problemCount == before {
            do {
                _ = try configuration.validate()
            } catch {
                let location: SourceLocation
                if case .invalidPool(_, let pool, _) = error, let poolLocation = poolLocations[pool] {
                    location = poolLocation
                } else if case .invalidListener = error {
                    location = section.value("listen")?.location ?? section.location
                } else if case .unknownRouteSite(let site) = error, site == configuration.defaultSite, let value = section.value("default_site") {
                    location = value.location
                } else if case .unknownRouteSite = error {
                    location = routesValue?.location ?? section.location
                } else if case .invalidRouteHost = error {
                    location = routesValue?.location ?? section.location
                } else {
                    location = sitesValue?.location ?? section.location
                }
                decoder.record("roles.proxy: \(error)", at: location)
            }
        }
        if decoder.problemCount != before { throw ConfigProblemsRecorded() }
        return ProxyRoleSettings(proxy: configuration, discoveredPools: discovered, discovery: discovery)
    }

    /// `discover`, `discover_ports`, `discover_default_site`, `discover_tls`.
    private static func decodeDiscovery(_ section: ConfigMapping, configuration: ProxyConfiguration) -> ProxyRoleSettings.Discovery? {
        let decoder = section.decoder
        let discover = section.located("discover", as: Bool.self)
        let portsValue = section.value("discover_ports")
        let ports = section.optional("discover_ports", as: [Int].self)
        let defaultSite = section.located("discover_default_site", as: String.self)
        var tls: ProxyConfiguration.ServerTLS?
        let tlsValue = section.value("discover_tls")
        if tlsValue != nil, let mapping = section.mapping("discover_tls") {
            let cert = mapping.required("cert", as: String.self)
            let key = mapping.required("key", as: String.self)
            let password = mapping.optional("key_password", as: String.self)
            mapping.finish()
            if let cert, let key { tls = .init(certificatePath: cert, keyPath: key, keyPassword: password) }
        }
        guard let discover, discover.value else {
            for key in ["discover_ports", "discover_default_site", "discover_tls"] {
                if let value = section.value(key) { decoder.record("roles.proxy.\(key) needs discover: true", at: value.location) }
            }
            return nil
        }
        guard let portsValue else {
            decoder.record("roles.proxy.discover: true needs discover_ports, the listen ports announced applications may open (such as [443, 8443])", at: discover.location)
            return nil
        }
        guard let ports else { return nil }
        if ports.isEmpty {
            decoder.record("roles.proxy.discover_ports needs at least one port", at: portsValue.location)
        }
        var seen: Set<Int> = []
        let configured = Set(configuration.listeners.map(\.port).filter { $0 != 0 })
        for port in ports {
            if !(1...65_535).contains(port) {
                decoder.record("roles.proxy.discover_ports: \(port) is not a port (1-65535)", at: portsValue.location)
            } else if port == 80 {
                decoder.record("roles.proxy.discover_ports: 80 is refused: applications may not announce listen_port 80, which load balancers keep for their redirect to HTTPS", at: portsValue.location)
            } else if !seen.insert(port).inserted {
                decoder.record("roles.proxy.discover_ports: \(port) is listed twice", at: portsValue.location)
            } else if configured.contains(port) {
                decoder.record("roles.proxy.discover_ports: \(port) is also in roles.proxy.listen; a port is either configured or opened for announced applications", at: portsValue.location)
            }
        }
        let names = configuration.sites.enumerated().map { $0.element.name.isEmpty ? "site\($0.offset + 1)" : $0.element.name }
        if let taken = names.first(where: { $0.hasPrefix(ProxyRoleSettings.discoveredScheme) }) {
            decoder.record("roles.proxy.sites: the name \(taken) is kept for the site of an announced application", at: section.value("sites")?.location ?? section.location)
        }
        if let defaultSite, !names.contains(defaultSite.value) {
            decoder.record("roles.proxy.discover_default_site: no site is named \(defaultSite.value)", at: defaultSite.location)
        }
        return .init(ports: ports, defaultSite: defaultSite?.value, tls: tls, location: discover.location)
    }
}

/// One `listen` entry: an address, or `{address, tls: {cert, key, key_password}}`.
struct ProxyListenEntry: ConfigDecodable {
    var listener: ProxyConfiguration.Listener

    init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        switch value.kind {
        case .scalar:
            let address = try ListenAddress(from: value, in: decoder)
            listener = .init(host: address.host, port: address.port)
        case .mapping:
            guard let entry = decoder.mapping(value, describing: "roles.proxy.listen[]") else { throw ConfigProblemsRecorded() }
            let address = entry.required("address", as: ListenAddress.self)
            var tls: ProxyConfiguration.ServerTLS?
            if entry.value("tls") != nil, let section = entry.mapping("tls") {
                let cert = section.required("cert", as: String.self)
                let key = section.required("key", as: String.self)
                let password = section.optional("key_password", as: String.self)
                section.finish()
                if let cert, let key { tls = .init(certificatePath: cert, keyPath: key, keyPassword: password) }
            }
            entry.finish()
            guard let address else { throw ConfigProblemsRecorded() }
            listener = .init(host: address.host, port: address.port, tls: tls)
        default:
            throw ConfigDiagnostic("expected an address such as :8080, or a mapping with address and tls", at: value.location)
        }
    }
}
