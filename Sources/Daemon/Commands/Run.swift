import ArgumentParser
import Logging
import Plugins

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the roles of the configuration file in the foreground, logging to standard error.",
        discussion: "SIGTERM or SIGINT stops gracefully; SIGHUP reloads the file."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "Log level, overriding the file: trace, debug, info, notice, warning, error or critical.")
    var logLevel: LogLevelArgument?

    @Option(help: "Log format, overriding the file: text or json.")
    var logFormat: LogFormatArgument?

    func run() async throws {
        let status = await RunningDaemon.run(
            configPath: options.config,
            overrides: .init(logLevel: logLevel?.level, logFormat: logFormat?.format),
            catalog: .builtIn
        )
        if status != .clean { throw ExitCode(status.rawValue) }
    }
}

struct LogLevelArgument: ExpressibleByArgument {
    var level: Logger.Level

    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument) else { return nil }
        self.level = level
    }

    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
}

struct LogFormatArgument: ExpressibleByArgument {
    var format: LogOutput.Format

    init?(argument: String) {
        guard let format = LogOutput.Format(rawValue: argument) else { return nil }
        self.format = format
    }

    static var allValueStrings: [String] { ["text", "json"] }
}
