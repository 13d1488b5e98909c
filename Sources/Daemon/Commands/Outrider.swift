import ArgumentParser
import Plugins

@main
struct Outrider: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outrider",
        abstract: "One daemon for a host's proxy, cache, gossip and coordinator roles.",
        discussion: """
            Exit codes: 0 clean stop, 1 configuration error, 2 failure at start (for example a port in use).
            """,
        version: OutriderVersion.number,
        subcommands: [Run.self, CheckConfig.self, Sidekick.self, Members.self, Keygen.self, CoordinatorCommand.self, VersionCommand.self]
    )
}

/// `--config`, shared by the commands that read the file.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The configuration file.", completion: .file(extensions: ["yaml", "yml"]))
    var config: String = OutriderConfiguration.defaultPath
}
