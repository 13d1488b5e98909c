import Foundation
import ArgumentParser
import Plugins

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and summarise the roles it would run.",
        discussion: "Prints every problem as PATH:LINE:COLUMN: message and exits 1 when there is any."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        do {
            let configuration = try OutriderConfiguration.load(path: options.config, catalog: .builtIn)
            print(Self.summary(of: configuration))
        } catch {
            for diagnostic in error.diagnostics {
                printToStandardError(diagnostic.description)
            }
            throw ExitCode(1)
        }
    }

    static func summary(of configuration: OutriderConfiguration) -> String {
        var lines = [
            "\(configuration.path): configuration is valid",
            "node \(configuration.nodeName), admin \(configuration.adminListen), \(configuration.eventLoopThreads) event loop threads, shutdown grace \(ConfigDuration(configuration.shutdownGrace))",
        ]
        if configuration.roles.isEmpty {
            lines.append("no roles configured")
        }
        for role in configuration.roles {
            lines.append(role.enabled ? "  \(role.name): \(role.summary)" : "  \(role.name): disabled")
        }
        return lines.joined(separator: "\n")
    }
}

func printToStandardError(_ line: String) {
    var standardError = StandardError()
    print(line, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
