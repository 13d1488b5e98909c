import Foundation
import TestSupport
import Testing

extension CoordinatorProcessTests {
    /// `outrider coordinator watch|send|broadcast` against two running members with real handler programs: the
    /// leader's program answers a send given to a follower, every member's program a broadcast, and watch prints
    /// each value as it is written (flushed at once, also into a pipe).
    @Test func watchSendAndBroadcastFromTheCommandLine() async throws {
        let handlers = [try await MessageHandler(name: "h0"), try await MessageHandler(name: "h1")]
        let members = [try await start("c0", handler: handlers[0]), try await start("c1", handler: handlers[1])]
        let leader = try await leader(of: members)
        let leaderIndex = members.firstIndex { $0 === leader }!
        let follower = members.first { $0 !== leader }!
        let admin = ["--admin", "127.0.0.1:\(follower.admin)"]

        let sent = try DaemonProcess.run(["coordinator", "send", "hello"] + admin)
        #expect(sent.status == 0 && sent.stdout == "h\(leaderIndex) got hello\n", "\(sent)")

        try await eventually {
            let answer = try await HTTPCall.send("GET", follower.admin, "/v1/coordinator/members")
            return (HTTPCall.json(answer.body) as? [[String: Any]])?.count == 2
        }
        let broadcast = try DaemonProcess.run(["coordinator", "broadcast", "all"] + admin)
        #expect(broadcast.status == 0 && broadcast.stdout == "c0, 200, h0 got all\nc1, 200, h1 got all\n", "\(broadcast)")
        let others = try DaemonProcess.run(["coordinator", "broadcast", "others", "--skip-self"] + admin)
        #expect(others.stdout == "\(leader.name), 200, h\(leaderIndex) got others\n", "\(others)")
        let only = try DaemonProcess.run(["coordinator", "broadcast", "one", "--only", follower.name, "--format", "json"] + admin)
        let replies = HTTPCall.json(only.stdout) as? [[String: Any]]
        #expect(replies?.count == 1 && replies?.first?["member"] as? String == follower.name, "\(only)")

        // A watch prints each write from the one after the key's latest when it started. When that was is not
        // known here, so values are written until the watch prints one; from then on it must print every write, in
        // order, without a gap.
        let watch = try CommandLineChild(["coordinator", "watch", "greeting"] + admin)
        defer { watch.stop() }
        var written: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while watch.lines.all.count < 3, ContinuousClock.now < deadline {
            let value = "v\(written.count)"
            #expect(try DaemonProcess.run(["coordinator", "put", "greeting", value] + admin).status == 0)
            written.append(value)
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try DaemonProcess.run(["coordinator", "put", "greeting", "final"] + admin).status == 0)
        written.append("final")
        _ = try await watch.lines.first(containing: "final", timeout: .seconds(20))
        let printed = watch.lines.all
        #expect(printed.count % 3 == 0 && stride(from: 0, to: printed.count, by: 3).allSatisfy { printed[$0] == "PUT" && printed[$0 + 1] == "greeting" }, "\(printed)")
        let seen = stride(from: 2, to: printed.count, by: 3).map { printed[$0] }
        #expect(!seen.isEmpty && Array(written.suffix(seen.count)) == seen, "a gapless tail of \(written): \(printed)")
        let history = try CommandLineChild(["coordinator", "watch", "greeting", "--after", "0", "--format", "json"] + admin)
        defer { history.stop() }
        _ = try await history.lines.first(containing: "\"final\"", timeout: .seconds(20))
        let events = history.lines.all.compactMap { HTTPCall.json($0) as? [String: Any] }
        #expect(events.compactMap { $0["value"] as? String } == written, "\(history.lines.all)")
        #expect(events.allSatisfy { $0["leader"] as? String == leader.name && $0["revision"] != nil })

        watch.stop()
        history.stop()
        for member in members { member.daemon.signal(SIGTERM) }
        for member in members { #expect(try await member.daemon.waitForExit() == 0) }
    }
}

/// `outrider` run with its standard output read line by line as it comes, for commands that do not end by
/// themselves (`coordinator watch`).
final class CommandLineChild {
    let process = Process()
    let lines: OutputLines

    init(_ arguments: [String]) throws {
        process.executableURL = DaemonProcess.binary
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.runUnmasked()
        lines = OutputLines(reading: out.fileHandleForReading)
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { stop() }
}
