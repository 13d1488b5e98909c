import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import Plugins

/// `outrider coordinator …`: the coordinator's local API from the shell, printed as etcdctl prints (or the JSON
/// answer with `--format json`); any failure exits 1 with one line saying why.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Talk to the coordinator role through the local admin listener.",
        subcommands: [Leader.self, Put.self, Get.self, Watch.self, Send.self, Broadcast.self, Members.self, SemaphoreCommand.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "The admin listener, HOST:PORT (default: admin.listen of --config).")
        var admin: String?

        @Option(name: .shortAndLong, help: "The configuration file to read admin.listen from.")
        var config: String = OutriderConfiguration.defaultPath

        @Option(help: "simple or json.")
        var format: Format = .simple

        enum Format: String, ExpressibleByArgument { case simple, json }

        func base() throws -> String {
            if let admin { return "http://\(admin)" }
            guard FileManager.default.fileExists(atPath: config) else { return "http://127.0.0.1:9901" }
            do {
                let listen = try OutriderConfiguration.load(path: config, catalog: .builtIn).adminListen
                let host = listen.host.isEmpty || listen.host == "0.0.0.0" ? "127.0.0.1" : listen.host
                return "http://\(host.contains(":") ? "[\(host)]" : host):\(listen.port)"
            } catch {
                throw CoordinatorCommand.failure("cannot read admin.listen from \(config): \(error.diagnostics.first?.description ?? "invalid")")
            }
        }

        /// The answer's body as JSON; a status of 400 or more fails with the answer's `error`.
        func call(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:], timeout: TimeInterval = 40) async throws -> (status: Int, json: Any?, raw: Data) {
            let url = try base() + "/v1/coordinator" + path
            let data: Data, status: Int
            do {
                (status, data) = try await AdminRequest.send(HTTPMethod(rawValue: method), url, body: body, headers: headers, timeout: .seconds(Int64(timeout)))
            } catch {
                throw CoordinatorCommand.failure("cannot reach the admin listener at \(try base().dropFirst("http://".count)): \(error)")
            }
            let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            if status >= 400 {
                let reason = (json as? [String: Any])?["error"] as? String ?? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw CoordinatorCommand.failure("\(status): \(reason.isEmpty ? "no reason given" : reason)")
            }
            return (status, json, data)
        }

        func printJSON(_ data: Data) {
            print(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func failure(_ reason: String) -> Failure { Failure(description: reason) }

    /// Prints `Error: reason` and exits 1, as etcdctl does.
    static func running(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as Failure {
            printToStandardError("Error: \(failure.description)")
            throw ExitCode(1)
        }
    }

    /// A JSON number as Foundation's reader gives it (`Int`, `Double` or `NSNumber` by platform).
    static func integer(_ value: Any?) -> Int64? {
        if let number = value as? Int { return Int64(number) }
        if let number = value as? Double { return Int64(number) }
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }

    static func path(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    struct Leader: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the group's leader: name, peer address, fencing token, lease left.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await CoordinatorCommand.running {
                let answer = try await connection.call("GET", "/leader")
                if connection.format == .json { return connection.printJSON(answer.raw) }
                let object = answer.json as? [String: Any] ?? [:]
                let isSelf = (object["self"] as? Bool) == true
                print("\(object["leader"] ?? "?"), \(object["address"] ?? "?"), token=\(object["token"] ?? "?"), lease_remaining=\(object["lease_remaining_ms"] ?? "?")ms\(isSelf ? ", self" : "")")
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Append a value to a key (through the leader).")
        @OptionGroup var connection: Connection
        @Argument var key: String
        @Argument var value: String
        @Option(help: "Retry-safe key: the same key and request get the first answer, appending nothing.")
        var idempotencyKey: String?
        @Flag(help: "Replace the latest value instead of appending.")
        var overwrite = false

        func run() async throws {
            try await CoordinatorCommand.running {
                let answer = try await connection.call(
                    "PUT", "/kv/\(CoordinatorCommand.path(key))" + (overwrite ? "?mode=overwrite" : ""), body: Data(value.utf8),
                    headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
                if connection.format == .json { return connection.printJSON(answer.raw) }
                print("OK")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a key's values, oldest first.")
        @OptionGroup var connection: Connection
        @Argument var key: String
        @Option(help: "latest, all, oldest or a number.")
        var limit: String = "latest"

        func run() async throws {
            try await CoordinatorCommand.running {
                let answer = try await connection.call("GET", "/kv/\(CoordinatorCommand.path(key))?limit=\(CoordinatorCommand.path(limit))")
                if connection.format == .json { return connection.printJSON(answer.raw) }
                for value in (answer.json as? [String: Any])?["values"] as? [[String: Any]] ?? [] {
                    print(key)
                    print(value["value"] as? String ?? "")
                }
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each new value of a key as it is written, until interrupted.")
        @OptionGroup var connection: Connection
        @Argument var key: String
        @Option(help: "Start after this revision (default: the key's latest).")
        var after: Int64?

        func run() async throws {
            try await CoordinatorCommand.running {
                var revision = after
                if revision == nil {
                    let latest = try? await connection.call("GET", "/kv/\(CoordinatorCommand.path(key))?limit=latest")
                    let values = (latest?.json as? [String: Any])?["values"] as? [[String: Any]]
                    revision = CoordinatorCommand.integer(values?.last?["revision"]) ?? 0
                }
                while true {
                    let answer = try await connection.call("GET", "/kv/\(CoordinatorCommand.path(key))?after=\(revision ?? 0)&wait=30s")
                    for value in (answer.json as? [String: Any])?["values"] as? [[String: Any]] ?? [] {
                        revision = CoordinatorCommand.integer(value["revision"]) ?? revision
                        if connection.format == .json {
                            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data()
                            print(String(decoding: data, as: UTF8.self))
                        } else {
                            print("PUT")
                            print(key)
                            print(value["value"] as? String ?? "")
                        }
                    }
                    // Each event as it comes, also into a pipe (`watch KEY | while read …`), as etcdctl watch does:
                    // a pipe's stdout is otherwise block-buffered and a few events would wait for kilobytes more.
                    fflush(nil)
                }
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a message to the leader's program and print its reply.")
        @OptionGroup var connection: Connection
        @Argument var message: String

        func run() async throws {
            try await CoordinatorCommand.running {
                let answer = try await connection.call("POST", "/send", body: Data(message.utf8))
                connection.printJSON(answer.raw)
            }
        }
    }

    struct Broadcast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a message to every member's program; print each reply.")
        @OptionGroup var connection: Connection
        @Argument var message: String
        @Flag(help: "Leave this member out.") var skipSelf = false
        @Option(help: "Only these members, comma-separated.") var only: String?

        func run() async throws {
            try await CoordinatorCommand.running {
                var query: [String] = []
                if skipSelf { query.append("skip_self=true") }
                if let only { query.append("only=\(CoordinatorCommand.path(only))") }
                let answer = try await connection.call("POST", "/broadcast" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), body: Data(message.utf8))
                if connection.format == .json { return connection.printJSON(answer.raw) }
                for result in answer.json as? [[String: Any]] ?? [] {
                    if let error = result["error"] { print("\(result["member"] ?? "?"), error, \(error)") } else {
                        print("\(result["member"] ?? "?"), \(result["status"] ?? "?"), \(result["reply"] ?? "")")
                    }
                }
            }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the group's members: name, peer address, leader, last seen.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await CoordinatorCommand.running {
                let answer = try await connection.call("GET", "/members")
                if connection.format == .json { return connection.printJSON(answer.raw) }
                for member in answer.json as? [[String: Any]] ?? [] {
                    let leader = (member["leader"] as? Bool) == true, alive = (member["alive"] as? Bool) == true
                    print("\(member["name"] ?? "?"), \(member["address"] ?? "?"), \(leader ? "leader" : "follower"), \(alive ? "alive" : "gone"), last seen \(member["last_seen_ms_ago"] ?? "?")ms ago")
                }
            }
        }
    }

    struct SemaphoreCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "semaphore", abstract: "Acquire or release a slot of a distributed semaphore.",
            subcommands: [Acquire.self, Release.self])

        struct Acquire: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Take a slot, waiting up to --wait; print its fencing token.")
            @OptionGroup var connection: Connection
            @Argument var name: String
            @Option var limit: Int
            @Option var holder: String
            @Option(help: "How long the slot is held without a refresh.") var ttl: String = "30s"
            @Option(help: "How long to wait for a slot (0: fail at once when full).") var wait: String = "0"

            func run() async throws {
                try await CoordinatorCommand.running {
                    let body = try JSONSerialization.data(withJSONObject: ["limit": limit, "holder": holder, "ttl": ttl, "wait": wait])
                    let answer = try await connection.call("POST", "/semaphores/\(CoordinatorCommand.path(name))/acquire", body: body, timeout: 100)
                    if connection.format == .json { return connection.printJSON(answer.raw) }
                    let object = answer.json as? [String: Any] ?? [:]
                    print("OK token=\(object["token"] ?? "?") expires_in=\(object["expires_in_ms"] ?? "?")ms")
                }
            }
        }

        struct Release: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Give a slot back.")
            @OptionGroup var connection: Connection
            @Argument var name: String
            @Option var holder: String

            func run() async throws {
                try await CoordinatorCommand.running {
                    let body = try JSONSerialization.data(withJSONObject: ["holder": holder])
                    let answer = try await connection.call("POST", "/semaphores/\(CoordinatorCommand.path(name))/release", body: body)
                    if connection.format == .json { return connection.printJSON(answer.raw) }
                    print("OK")
                }
            }
        }
    }
}
