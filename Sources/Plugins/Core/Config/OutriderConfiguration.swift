import Foundation
import Logging
import NIOCore

/// The whole configuration file: the daemon's own settings and each role's section.
public struct OutriderConfiguration: Sendable, Equatable {
    public var path: String
    /// `node.name`: this host's name in the cluster; the host name by default.
    public var nodeName: String
    /// `admin.listen`: where `/metrics`, `/healthz` and `/v1/status` are served.
    public var adminListen: ListenAddress
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// `event_loop.threads`: the size of the one event loop group; the number of cores by default.
    public var eventLoopThreads: Int
    /// `shutdown_grace`: how long work in flight may take to finish on stop.
    public var shutdownGrace: Duration
    /// Every role named under `roles:`, in file order.
    public var roles: [RoleDeclaration]

    public enum LogFormat: String, Sendable, ConfigEnumeration {
        case text
        case json
    }

    public static let defaultPath = "/etc/outrider/outrider.yaml"

    public init(
        path: String,
        nodeName: String = OutriderConfiguration.hostName(),
        adminListen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 9901),
        logLevel: Logger.Level = .info,
        logFormat: LogFormat = .text,
        eventLoopThreads: Int = System.coreCount,
        shutdownGrace: Duration = .seconds(10),
        roles: [RoleDeclaration]
    ) {
        self.path = path
        self.nodeName = nodeName
        self.adminListen = adminListen
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.eventLoopThreads = eventLoopThreads
        self.shutdownGrace = shutdownGrace
        self.roles = roles
    }

    /// Reads and validates a file, reporting every problem found.
    public static func load(
        path: String,
        catalog: RoleCatalog,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> OutriderConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? "cannot read the file"
            throw ConfigErrors([ConfigDiagnostic("cannot read configuration: \(Self.describeReadFailure(path, reason))", at: .init(file: path, line: 1, column: 1))])
        }
        return try parse(text, path: path, catalog: catalog, environment: environment)
    }

    static func describeReadFailure(_ path: String, _ fallback: String) -> String {
        if !FileManager.default.fileExists(atPath: path) { return "no such file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "permission denied" }
        return fallback
    }

    /// Validates configuration text, reporting every problem found.
    public static func parse(
        _ text: String,
        path: String,
        catalog: RoleCatalog,
        environment: [String: String]
    ) throws(ConfigErrors) -> OutriderConfiguration {
        let document = try ConfigDocument.parse(text, path: path, environment: environment)
        let decoder = ConfigDecoder()
        let configuration = decode(document.root, path: path, catalog: catalog, decoder: decoder)
        if let configuration, decoder.diagnostics.isEmpty {
            return configuration
        }
        throw ConfigErrors(decoder.diagnostics)
    }

    static func decode(_ root: ConfigValue, path: String, catalog: RoleCatalog, decoder: ConfigDecoder) -> OutriderConfiguration? {
        guard let top = decoder.mapping(root, describing: "") else { return nil }
        let node = top.mapping("node")
        let nodeName = node?.value("name", default: Self.hostName()) ?? Self.hostName()
        node?.finish()
        if nodeName.isEmpty, let location = node?.value("name")?.location {
            decoder.record("node.name must not be empty", at: location)
        }

        let admin = top.mapping("admin")
        let adminListen = admin?.value("listen", default: ListenAddress(host: "127.0.0.1", port: 9901))
            ?? ListenAddress(host: "127.0.0.1", port: 9901)
        admin?.finish()

        let log = top.mapping("log")
        let logLevel = log?.value("level", default: LogLevel(.info)).level ?? .info
        let logFormat = log?.value("format", default: LogFormat.text) ?? .text
        log?.finish()

        let eventLoop = top.mapping("event_loop")
        let threads = eventLoop?.value("threads", default: System.coreCount, in: 1...1024) ?? System.coreCount
        eventLoop?.finish()

        let grace = top.value("shutdown_grace", default: .seconds(10), in: .zero ... .seconds(3600))

        var roles: [RoleDeclaration] = []
        if let rolesSection = top.mapping("roles") {
            for entry in rolesSection.allEntries() {
                guard let plugin = catalog[entry.key] else {
                    let known = catalog.names.isEmpty ? "this build provides none" : "known roles: \(catalog.names.joined(separator: ", "))"
                    decoder.record("unknown role '\(entry.key)' (\(known))", at: entry.keyLocation)
                    continue
                }
                guard let section = decoder.mapping(entry.value, describing: "roles.\(entry.key)") else { continue }
                let enabled = section.value("enabled", default: true)
                let before = decoder.problemCount
                let settings: RoleSettings?
                do {
                    settings = try plugin.decode(section)
                } catch let diagnostic as ConfigDiagnostic {
                    decoder.record(diagnostic)
                    settings = nil
                } catch {
                    settings = nil
                }
                section.finish()
                if let settings, decoder.problemCount == before {
                    roles.append(RoleDeclaration(
                        name: entry.key,
                        enabled: enabled,
                        settings: settings,
                        summary: plugin.summary(of: settings)
                    ))
                }
            }
            for problem in catalog.capabilityProblems(in: roles, rolesAt: rolesSection.location) {
                decoder.record(problem)
            }
        }
        top.finish()
        return OutriderConfiguration(
            path: path,
            nodeName: nodeName,
            adminListen: adminListen,
            logLevel: logLevel,
            logFormat: logFormat,
            eventLoopThreads: threads,
            shutdownGrace: grace,
            roles: roles
        )
    }

    /// The role declarations that are enabled.
    public var enabledRoles: [RoleDeclaration] { roles.filter(\.enabled) }

    /// This machine's host name, the default `node.name`.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `log.level`: swift-log's levels by name.
public struct LogLevel: Sendable, Equatable, ConfigDecodable {
    public var level: Logger.Level

    public init(_ level: Logger.Level) {
        self.level = level
    }

    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        let names = Logger.Level.allCases.map(\.rawValue)
        let text = try value.scalar(expecting: "a log level")
        guard let level = Logger.Level(rawValue: text) else {
            throw ConfigDiagnostic("expected one of \(names.joined(separator: ", ")), found '\(text)'", at: value.location)
        }
        self.level = level
    }
}
