import Foundation
import Membership
import ObjectStore
import NIOCore
import NIOPosix
import Plugins

extension SWIMConfiguration.Profile: ConfigEnumeration {}
extension Application.TransportProtocol: ConfigEnumeration {}
extension LoadBalancerConfiguration.Format: ConfigEnumeration {}
extension SeedSource.RecordType: ConfigEnumeration {}

/// Reads `roles.gossip` into ``GossipSettings``: every key of the issue's schema, memberlist's profile defaults,
/// each problem at its line and column.
enum GossipSection {
    /// memberlist's default port (`config.go`, `BindPort`).
    static let defaultPort = 7946

    static func decode(_ section: ConfigMapping) throws -> GossipSettings {
        let decoder = section.decoder
        let before = decoder.problemCount
        var settings = GossipSettings()

        settings.bind = section.value("bind", default: settings.bind)
        settings.profile = section.value("profile", default: SWIMConfiguration.Profile.lan)
        var timings = SWIMConfiguration(profile: settings.profile)
        func duration(_ key: String, _ current: TimeAmount) -> TimeAmount {
            TimeAmount(section.value(key, default: Duration(current), in: .milliseconds(1) ... .seconds(3600)))
        }
        timings.probeInterval = duration("probe_interval", timings.probeInterval)
        timings.probeTimeout = duration("probe_timeout", timings.probeTimeout)
        timings.gossipInterval = duration("gossip_interval", timings.gossipInterval)
        timings.pushPullInterval = duration("push_pull_interval", timings.pushPullInterval)
        timings.suspicionMult = section.value("suspicion_mult", default: timings.suspicionMult, in: 1...100)
        timings.suspicionMaxTimeoutMult = section.value("suspicion_max_timeout_mult", default: timings.suspicionMaxTimeoutMult, in: 1...100)
        timings.gossipNodes = section.value("gossip_nodes", default: timings.gossipNodes, in: 1...100)
        timings.retransmitMult = section.value("retransmit_mult", default: timings.retransmitMult, in: 1...100)
        timings.indirectChecks = section.value("indirect_checks", default: timings.indirectChecks, in: 0...100)
        timings.awarenessMaxMultiplier = section.value("awareness_max_multiplier", default: timings.awarenessMaxMultiplier, in: 1...100)
        settings.timings = timings

        settings.join = section.value("join", default: [String]())
        decodeSeeds(section, into: &settings)
        settings.label = section.value("label", default: "")
        if settings.label.utf8.count > PacketFrame.maximumLabelLength, let value = section.value("label") {
            decoder.record("roles.gossip.label is longer than \(PacketFrame.maximumLabelLength) bytes", at: value.location)
        }
        settings.leaveTimeout = section.value("leave_timeout", default: Duration.seconds(5), in: .zero ... .seconds(3600))
        let year = Duration.seconds(366 * 24 * 3600)
        let serf = DepartedMembers.Timeouts.serf
        settings.departures = DepartedMembers.Timeouts(
            reconnectTimeout: TimeAmount(section.value("reconnect_timeout", default: Duration(serf.reconnectTimeout), in: .milliseconds(1) ... year)),
            tombstoneTimeout: TimeAmount(section.value("tombstone_timeout", default: Duration(serf.tombstoneTimeout), in: .milliseconds(1) ... year)),
            reconnectInterval: TimeAmount(
                section.value("reconnect_interval", default: Duration(serf.reconnectInterval), in: .milliseconds(100) ... .seconds(24 * 3600))))

        if let tagsValue = section.value("tags"), case .mapping = tagsValue.kind, let tags = decoder.mapping(tagsValue, describing: "roles.gossip.tags") {
            for entry in tags.allEntries() {
                if let text = decoder.decode(String.self, from: entry.value) { settings.tags[entry.key] = text }
            }
            do {
                _ = try SerfTags.encode(settings.tags)
            } catch {
                decoder.record("roles.gossip.tags: \(error), over memberlist's \(Alive.maximumMetaSize)-byte metadata limit", at: tagsValue.location)
            }
        } else if let tagsValue = section.value("tags"), tagsValue.kind != .null {
            decoder.record("roles.gossip.tags must be a mapping of names to strings, found \(tagsValue.kindDescription)", at: tagsValue.location)
        }
        decodeApplications(section, into: &settings)
        if section.value("generate") != nil, let generate = section.mapping("generate") {
            let format = generate.required("format", as: LoadBalancerConfiguration.Format.self)
            let target = generate.required("target", as: String.self)
            let check = generate.value("check", default: [String]())
            let reload = generate.value("reload", default: [String]())
            let debounce = generate.value("debounce", default: Duration.seconds(2), in: .zero ... .seconds(3600))
            var tls: LoadBalancerConfiguration.TLS?
            if generate.value("tls") != nil, let tlsSection = generate.mapping("tls") {
                let chain = tlsSection.required("chain", as: String.self)
                let key = tlsSection.required("key", as: String.self)
                tlsSection.finish()
                if let chain, let key { tls = .init(chain: chain, key: key) }
            }
            generate.finish()
            if let target, !target.hasPrefix("/"), let value = generate.value("target") {
                decoder.record("roles.gossip.generate.target must be an absolute path", at: value.location)
            }
            if let format, let target {
                settings.generate = .init(
                    configuration: LoadBalancerConfiguration(format: format, tls: tls),
                    file: LoadBalancerFile(target: target, check: check, reload: reload),
                    debounce: debounce
                )
            }
        }

        if let encryption = section.mapping("encryption") {
            if let keysValue = encryption.value("keys"), case .sequence(let items) = keysValue.kind {
                for item in items {
                    guard let text = decoder.decode(String.self, from: item) else { continue }
                    do {
                        settings.keys.append(try Keyring.decodeKey(base64: text))
                    } catch {
                        decoder.record("roles.gossip.encryption.keys: \(error)", at: item.location)
                    }
                }
            } else if let keysValue = encryption.value("keys"), keysValue.kind != .null {
                decoder.record("roles.gossip.encryption.keys must be a list of base64 keys", at: keysValue.location)
            }
            if let fileValue = encryption.value("keyring_file"), let path = decoder.decode(String.self, from: fileValue) {
                do {
                    let contents = try Data(contentsOf: URL(fileURLWithPath: path))
                    settings.keys += try Keyring.parseKeyringFile(Array(contents)).keys
                } catch {
                    decoder.record("roles.gossip.encryption.keyring_file '\(path)': \(error)", at: fileValue.location)
                }
            }
            encryption.finish()
        }

        let advertiseValue = section.value("advertise")
        if let advertiseValue, let text = decoder.decode(String.self, from: advertiseValue) {
            do {
                let (host, port) = try splitHostPort(text, defaultPort: settings.bind.port == 0 ? defaultPort : settings.bind.port)
                guard let resolved = resolve(host).first else {
                    throw ConfigDiagnostic("roles.gossip.advertise: cannot resolve '\(host)'", at: advertiseValue.location)
                }
                settings.advertiseHost = resolved
                settings.advertisePort = port
            } catch let diagnostic as ConfigDiagnostic {
                decoder.record(diagnostic)
            } catch {
                decoder.record("roles.gossip.advertise: \(error)", at: advertiseValue.location)
            }
        } else {
            let host = settings.bind.bindHost
            settings.advertiseHost = (host == "0.0.0.0" || host == "::") ? (firstNonLoopbackAddress() ?? "127.0.0.1") : host
            settings.advertisePort = settings.bind.port
        }

        section.finish()
        if decoder.problemCount > before { throw ConfigProblemsRecorded() }
        return settings
    }

    /// `applications` and `applications_dir` (one YAML file per application, `*.yaml` or `*.yml`, in name order):
    /// scrimplb's rules checked at each application's position, the set announced in the `apps` tag, and the tags
    /// that result checked against memberlist's metadata limit at the first setting that adds to them.
    static func decodeApplications(_ section: ConfigMapping, into settings: inout GossipSettings) {
        let decoder = section.decoder
        var applications: [Application] = []
        var names: Set<String> = []
        func read(_ value: ConfigValue, describing what: String) {
            guard let entry = decoder.mapping(value, describing: what) else { return }
            let name = entry.required("name", as: String.self)
            let listenPort = entry.required("listen_port", as: Int.self)
            let applicationPort = entry.required("application_port", as: Int.self)
            let transport = entry.value("protocol", default: Application.TransportProtocol.http)
            let domains = entry.required("domains", as: [String].self)
            entry.finish()
            guard let name, let listenPort, let applicationPort, let domains else { return }
            let application = Application(name: name, listenPort: listenPort, applicationPort: applicationPort, transport: transport, domains: domains)
            for problem in application.problems { decoder.record("\(what): \(problem)", at: value.location) }
            guard application.problems.isEmpty else { return }
            guard names.insert(name).inserted else {
                decoder.record("\(what): application '\(name)' is announced twice", at: value.location)
                return
            }
            applications.append(application)
        }
        let listValue = section.value("applications")
        if let listValue, case .sequence(let items) = listValue.kind {
            for (index, item) in items.enumerated() { read(item, describing: "roles.gossip.applications[\(index)]") }
        } else if let listValue, listValue.kind != .null {
            decoder.record("roles.gossip.applications must be a list of applications, found \(listValue.kindDescription)", at: listValue.location)
        }
        let directoryValue = section.value("applications_dir")
        if let directoryValue, let directory = decoder.decode(String.self, from: directoryValue) {
            do {
                let files = try FileManager.default.contentsOfDirectory(atPath: directory)
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                    .sorted()
                for file in files {
                    let path = (directory as NSString).appendingPathComponent(file)
                    do {
                        let text = try String(contentsOfFile: path, encoding: .utf8)
                        let document = try ConfigDocument.parse(text, path: path, environment: ProcessInfo.processInfo.environment)
                        read(document.root, describing: "application file")
                    } catch let errors as ConfigErrors {
                        for diagnostic in errors.diagnostics { decoder.record(diagnostic) }
                    } catch {
                        decoder.record("roles.gossip.applications_dir: cannot read \(path): \(error.localizedDescription)", at: directoryValue.location)
                    }
                }
            } catch {
                decoder.record("roles.gossip.applications_dir: cannot list \(directory): \(error.localizedDescription)", at: directoryValue.location)
            }
        }
        guard !applications.isEmpty else { return }
        let location = listValue?.location ?? directoryValue?.location ?? section.location
        if settings.tags[ApplicationTag.key] != nil {
            decoder.record("roles.gossip.tags: '\(ApplicationTag.key)' is the tag the applications are announced in; rename it", at: section.value("tags")?.location ?? location)
            return
        }
        settings.applications = applications
        settings.tags[ApplicationTag.key] = ApplicationTag.encode(applications)
        if settings.tags["role"] == nil { settings.tags["role"] = "backend" }
        do {
            _ = try SerfTags.encode(settings.tags)
        } catch {
            decoder.record(
                "roles.gossip.applications: with the tags they do not fit memberlist's \(Alive.maximumMetaSize)-byte metadata limit (\(error)); announce fewer domains or shorter names",
                at: location
            )
        }
    }

    /// `seeds`: a list of one-key mappings (`static`, `dns`, `file`, `s3`), each checked at its position.
    static func decodeSeeds(_ section: ConfigMapping, into settings: inout GossipSettings) {
        let decoder = section.decoder
        guard let listValue = section.value("seeds"), listValue.kind != .null else { return }
        guard case .sequence(let items) = listValue.kind else {
            decoder.record("roles.gossip.seeds must be a list of seed sources (static, dns, file, s3), found \(listValue.kindDescription)", at: listValue.location)
            return
        }
        let kinds = ["static", "dns", "file", "s3"]
        for (index, item) in items.enumerated() {
            let what = "roles.gossip.seeds[\(index)]"
            guard case .mapping(let entries) = item.kind, entries.count == 1, let entry = entries.first else {
                decoder.record("\(what) must be a mapping with one of \(kinds.joined(separator: ", ")), as `- s3: {...}`", at: item.location)
                continue
            }
            let value = entry.value
            switch entry.key {
            case "static":
                guard let addresses = decoder.decode([String].self, from: value) else { continue }
                if addresses.isEmpty { decoder.record("\(what).static must list at least one address", at: value.location) }
                for address in addresses where (try? splitHostPort(address, defaultPort: defaultPort)) == nil {
                    decoder.record("\(what).static: '\(address)' is not host, host:port or [v6]:port", at: value.location)
                }
                settings.seeds.append(.addresses(addresses))
            case "dns":
                guard let dns = decoder.mapping(value, describing: "\(what).dns") else { continue }
                let name = dns.required("name", as: String.self)
                let type = dns.value("type", default: SeedSource.RecordType.a)
                let portValue = dns.value("port")
                let port = dns.value("port", default: defaultPort, in: 1...65535)
                if type == .srv, let portValue {
                    decoder.record("\(what).dns.port: SRV records give the ports; remove port", at: portValue.location)
                }
                var server: NodeAddress?
                if let serverValue = dns.value("server"), let text = decoder.decode(String.self, from: serverValue) {
                    if let parsed = dnsServer(text) {
                        server = parsed
                    } else {
                        decoder.record(
                            "\(what).dns.server must be an IP address with an optional port (10.0.0.2, 10.0.0.2:8600, fd00::2, [fd00::2]:8600), found '\(text)'",
                            at: serverValue.location)
                    }
                }
                dns.finish()
                if let name {
                    if name.isEmpty { decoder.record("\(what).dns.name must not be empty", at: dns.location) }
                    settings.seeds.append(.dns(name: name, type: type, port: port, server: server))
                }
            case "file":
                guard let path = decoder.decode(String.self, from: value) else { continue }
                if !path.hasPrefix("/") { decoder.record("\(what).file must be an absolute path, found '\(path)'", at: value.location) }
                settings.seeds.append(.file(path))
            case "s3":
                guard let s3 = decoder.mapping(value, describing: "\(what).s3") else { continue }
                let endpoint = s3.required("endpoint", as: String.self)
                let bucket = s3.required("bucket", as: String.self)
                let key = s3.required("key", as: String.self)
                let region = s3.value("region", default: "us-east-1")
                let accessKey = s3.required("access_key", as: String.self)
                let secretKey = s3.required("secret_key", as: String.self)
                let ca = s3.optional("ca", as: String.self)
                let publish = s3.value("publish", default: false)
                let period = s3.value("publish_period", default: Duration.seconds(60), in: .seconds(1) ... .seconds(86400))
                let jitter = s3.value("publish_jitter", default: Duration.seconds(5), in: .zero ... .seconds(3600))
                let maximumAge = s3.value("max_age", default: period * 5, in: .seconds(1) ... .seconds(30 * 86400))
                for (name, text) in [("bucket", bucket), ("key", key), ("access_key", accessKey), ("secret_key", secretKey)] {
                    if let text, text.isEmpty, let at = s3.value(name) { decoder.record("\(what).s3.\(name) must not be empty", at: at.location) }
                }
                if let endpoint, let at = s3.value("endpoint") {
                    do throws(S3Error) {
                        _ = try S3Endpoint(endpoint)
                    } catch {
                        decoder.record("\(what).s3.endpoint: \(error)", at: at.location)
                    }
                }
                if let bucket, bucket.contains("/"), let at = s3.value("bucket") {
                    decoder.record("\(what).s3.bucket '\(bucket)' is not a bucket name", at: at.location)
                }
                if publish, maximumAge < period + jitter, let at = s3.value("max_age") {
                    decoder.record("\(what).s3.max_age must be at least publish_period + publish_jitter, or publishers drop each other between writes", at: at.location)
                }
                s3.finish()
                if let endpoint, let bucket, let key, let accessKey, let secretKey {
                    var seeds = S3Seeds(endpoint: endpoint, bucket: bucket, key: key, accessKey: accessKey, secretKey: secretKey)
                    seeds.region = region
                    seeds.ca = ca
                    seeds.publish = publish
                    seeds.publishPeriod = period
                    seeds.publishJitter = jitter
                    seeds.maximumAge = maximumAge
                    settings.seeds.append(.s3(seeds))
                }
            default:
                decoder.record("\(what): unknown seed source '\(entry.key)' (known: \(kinds.joined(separator: ", ")))", at: entry.keyLocation)
            }
        }
    }

    struct AddressError: Error, CustomStringConvertible {
        var description: String
    }

    /// `host`, `host:port`, `[v6]:port` or a bare IPv6 literal.
    /// A `dns` source's `server`: an IPv4 address or an IPv6 one (bare, or in brackets to give a port), port 53
    /// unless given; nil for anything else (a name would need a resolver to find the resolver).
    static func dnsServer(_ text: String) -> NodeAddress? {
        var host = text
        var port = 53
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let given = Int(rest.dropFirst()) else { return nil }
                port = given
            }
            guard host.contains(":") else { return nil }
        } else if text.filter({ $0 == ":" }).count == 1 {
            guard let (splitHost, given) = try? splitHostPort(text, defaultPort: 53) else { return nil }
            (host, port) = (splitHost, given)
        }
        guard (1...65535).contains(port) else { return nil }
        if host.contains(":") {
            var parsed = in6_addr()
            guard inet_pton(AF_INET6, host, &parsed) == 1 else { return nil }
        } else {
            var parsed = in_addr()
            guard inet_pton(AF_INET, host, &parsed) == 1 else { return nil }
        }
        return NodeAddress(host: host, port: port)
    }

    static func splitHostPort(_ text: String, defaultPort: Int) throws -> (String, Int) {
        if text.hasPrefix("[") {
            let parsed = try ListenAddress.parse(text)
            return (parsed.host, parsed.port)
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.lastIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                throw AddressError(description: "invalid port in '\(text)'")
            }
            return (String(text[..<colon]), port)
        }
        return (text, defaultPort)
    }

    /// Every address `host` resolves to (A and AAAA, or only one with `family`), IP literals as they are.
    static func resolve(_ host: String, family: Int32 = AF_UNSPEC) -> [String] {
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(address, info.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                    let string = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    if !addresses.contains(string) { addresses.append(string) }
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// The first IPv4 address of an interface that is not loopback, as memberlist picks one to advertise when
    /// bound to every interface (`memberlist.go`, `refreshAdvertise` via go-sockaddr's private IP).
    static func firstNonLoopbackAddress() -> String? {
        guard let devices = try? System.enumerateDevices() else { return nil }
        for device in devices {
            guard let address = device.address, case .v4 = address, let ip = address.ipAddress, !ip.hasPrefix("127.") else { continue }
            return ip
        }
        return nil
    }
}
