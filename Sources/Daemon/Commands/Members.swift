import ArgumentParser
import Foundation
import Membership
import Plugins

/// `outrider members`: the gossip cluster as this member sees it, printed as `serf members` prints it, read from
/// the local admin listener (`GET /v1/gossip/members`). A backend's applications (its `apps` tag, see
/// ``ApplicationTag``) are shown under it, one indented line each, rather than as the tag's compact line, and as
/// an `applications` list of each member in `--format json`.
struct Members: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "List the gossip cluster's members, as serf members does.")

    @OptionGroup var options: ConfigOption

    @Option(help: "The admin listener to ask (default: admin.listen from the configuration file).")
    var admin: String?

    @Option(help: "Only members with this status: alive, suspect, failed or left.")
    var status: String?

    @Option(help: "Only members with this tag (key=value); repeatable.")
    var tag: [String] = []

    @Option(help: "text or json.")
    var format: String = "text"

    func run() async throws {
        let address: String
        if let admin {
            address = admin
        } else {
            do {
                let configuration = try OutriderConfiguration.load(path: options.config, catalog: .builtIn)
                let listen = configuration.adminListen
                let host = ["", "0.0.0.0", "::"].contains(listen.host) ? "127.0.0.1" : listen.host
                address = host.contains(":") ? "[\(host)]:\(listen.port)" : "\(host):\(listen.port)"
            } catch {
                for diagnostic in error.diagnostics { printToStandardError(diagnostic.description) }
                throw ExitCode(1)
            }
        }
        var filters: [(String, String)] = []
        for entry in tag {
            guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--tag takes key=value, found '\(entry)'") }
            filters.append((String(entry[..<equals]), String(entry[entry.index(after: equals)...])))
        }
        let data: Data
        let answered: Int
        do {
            (answered, data) = try await AdminRequest.send(.GET, "http://\(address)/v1/gossip/members", timeout: .seconds(10))
        } catch {
            printToStandardError("outrider members: cannot reach the admin listener at \(address): \(error)")
            throw ExitCode(1)
        }
        guard answered == 200,
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let members = object["members"] as? [[String: Any]]
        else {
            printToStandardError("outrider members: \(address) answered: \(String(decoding: data, as: UTF8.self))")
            throw ExitCode(1)
        }
        let selected = members.filter { member in
            if let status, member["status"] as? String != status { return false }
            let tags = member["tags"] as? [String: String] ?? [:]
            return filters.allSatisfy { tags[$0.0] == $0.1 }
        }
        if format == "json" {
            let withApplications = selected.map { member in
                var member = member
                member["applications"] = Self.applications(of: member).map { application -> [String: Any] in
                    [
                        "name": application.name, "listen_port": application.listenPort, "application_port": application.applicationPort,
                        "protocol": application.transport.rawValue, "domains": application.domains,
                    ]
                }
                return member
            }
            let output = try JSONSerialization.data(withJSONObject: ["members": withApplications], options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: output, as: UTF8.self))
            return
        }
        guard format == "text" else { throw ValidationError("--format is text or json") }
        // serf's columns: name, address, status, tags as k=v joined by commas.
        let rows: [[String]] = selected.map { member in
            let host = member["address"] as? String ?? ""
            let port = (member["port"] as? NSNumber)?.intValue ?? 0
            var tags = member["tags"] as? [String: String] ?? [:]
            // Shown below the member instead, when they decode.
            if !Self.applications(of: member).isEmpty { tags[ApplicationTag.key] = nil }
            let text = tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return [member["name"] as? String ?? "", host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)", member["status"] as? String ?? "", text]
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for (row, member) in zip(rows, selected) {
            print(row.enumerated().map { $0.offset == 3 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            for application in Self.applications(of: member) {
                print("    \(application.name)  \(application.listenPort) -> \(application.applicationPort)/\(application.transport.rawValue)  \(application.domains.joined(separator: ","))")
            }
        }
    }

    /// The applications a member of the admin listener's answer announces; none when its `apps` tag is absent or
    /// does not decode.
    static func applications(of member: [String: Any]) -> [Application] {
        guard let value = (member["tags"] as? [String: String])?[ApplicationTag.key] else { return [] }
        return (try? ApplicationTag.decode(value)) ?? []
    }
}
