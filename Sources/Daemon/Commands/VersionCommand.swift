import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version and build information.")

    func run() {
        print("outrider \(OutriderVersion.number)")
        print("built with Swift \(Self.compilerVersion), \(Self.buildConfiguration) build, for \(Self.platform)")
    }

    static var compilerVersion: String {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.1"
        #endif
    }

    static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    static var platform: String {
        #if os(Linux)
        let system = "linux"
        #else
        let system = "unknown-os"
        #endif
        #if arch(x86_64)
        return "\(system)-x86_64"
        #elseif arch(arm64)
        return "\(system)-aarch64"
        #else
        return "\(system)"
        #endif
    }
}
