import Foundation
import NIOCore
import NIOPosix

/// A real serf agent (`/usr/bin/serf`, Debian's 0.9.4) on 127.0.0.1 with free ports, for interoperation tests.
/// A missing binary fails the test (CI installs it with apt).
public final class SerfProcess: @unchecked Sendable {
    // Sendable: `process` is set in init and only read after; `Process` itself is thread-safe for terminate/wait.
    public static let binary = "/usr/bin/serf"

    public let name: String
    public let port: Int
    public let rpcPort: Int
    public let process: Process
    public let logFile: URL

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(name: String, tags: [String: String] = [:], encryptKey: String? = nil, profile: String = "local") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw Failure(description: "serf is not installed at \(Self.binary) (apt-get install serf)")
        }
        self.name = name
        (port, rpcPort, process, logFile) = try Self.launch(name: name, tags: tags, encryptKey: encryptKey, profile: profile)
    }

    /// Starts the agent on ports kept free by ``FreePort``. The UDP side cannot be kept: when another test takes it
    /// before serf binds it, the agent exits at once and is started again on other ports.
    private static func launch(name: String, tags: [String: String], encryptKey: String?, profile: String) throws -> (Int, Int, Process, URL) {
        for attempt in 1...5 {
            let port = try FreePort.tcpAndUDP()
            let rpcPort = try FreePort.tcp()
            var arguments = ["agent", "-node=\(name)", "-bind=127.0.0.1:\(port)", "-advertise=127.0.0.1:\(port)", "-rpc-addr=127.0.0.1:\(rpcPort)", "-profile=\(profile)", "-log-level=debug"]
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) { arguments.append("-tag=\(key)=\(value)") }
            if let encryptKey { arguments.append("-encrypt=\(encryptKey)") }
            let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("serf-\(name)-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logFile)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            if !waitUntilRunning(process, log: logFile), attempt < 5,
                (try? String(contentsOf: logFile, encoding: .utf8))?.contains("address already in use") == true
            {
                try? FileManager.default.removeItem(at: logFile)
                continue
            }
            return (port, rpcPort, process, logFile)
        }
        throw Failure(description: "serf \(name) could not bind free ports")
    }

    /// Whether the agent says it runs within 20 s; `false` as soon as it exits.
    private static func waitUntilRunning(_ process: Process, log: URL) -> Bool {
        for _ in 0..<400 {
            if (try? String(contentsOf: log, encoding: .utf8))?.contains("Serf agent running") == true { return true }
            if !process.isRunning { return false }
            usleep(50_000)
        }
        return false
    }

    public var address: String { "127.0.0.1:\(port)" }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// `serf members -format=json`, as name → (status, tags).
    public func members() throws -> [String: (status: String, tags: [String: String])] {
        let output = try run(["members", "-format=json", "-rpc-addr=127.0.0.1:\(rpcPort)"])
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let list = object["members"] as? [[String: Any]]
        else { throw Failure(description: "unexpected serf members output: \(output)") }
        var members: [String: (status: String, tags: [String: String])] = [:]
        for member in list {
            guard let name = member["name"] as? String, let status = member["status"] as? String else { continue }
            members[name] = (status, member["tags"] as? [String: String] ?? [:])
        }
        return members
    }

    /// One member's status and tags as serf lists them, `alive role=lb,dc=eu1` (tags sorted); `nil` when serf does
    /// not answer or does not list it.
    public func status(of member: String) -> String? {
        guard let found = (try? members())?[member] else { return nil }
        return "\(found.status) \(found.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"
    }

    public func join(_ address: String) throws {
        _ = try run(["join", "-rpc-addr=127.0.0.1:\(rpcPort)", address])
    }

    private func run(_ arguments: [String]) throws -> String {
        let command = Process()
        command.executableURL = URL(fileURLWithPath: Self.binary)
        command.arguments = arguments
        let pipe = Pipe()
        command.standardOutput = pipe
        command.standardError = pipe
        try command.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        command.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard command.terminationStatus == 0 else { throw Failure(description: "serf \(arguments.first ?? ""): \(text)") }
        return text
    }

    /// Waits up to `timeout` for `condition` on serf's member list.
    public func waitFor(_ what: String, timeout: Duration = .seconds(15), _ condition: ([String: (status: String, tags: [String: String])]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: [String: (status: String, tags: [String: String])] = [:]
        while ContinuousClock.now < deadline {
            if let members = try? members() {
                last = members
                if condition(members) { return }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let tail = log.split(separator: "\n").suffix(15).joined(separator: "\n")
        throw Failure(description: "serf \(name): timed out waiting for \(what); members: \(last.mapValues { $0.status }); agent \(process.isRunning ? "running" : "exited with \(process.terminationStatus)"); log:\n\(tail)")
    }

    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: logFile)
    }

}
