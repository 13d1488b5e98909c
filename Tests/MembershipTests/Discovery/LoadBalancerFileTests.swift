import Foundation
import Membership
import Synchronization
import Testing

@Suite struct LoadBalancerFileTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-lbfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A real nginx checks every file; a failing check puts the previous file back.
    @Test func aFileThatFailsTheCheckIsReplacedByThePreviousOne() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("upstreams.conf").path
        let main = directory.appendingPathComponent("nginx.conf").path
        try "pid \(directory.path)/nginx.pid;\nevents {}\nhttp { access_log off; include \(target); }\n".write(toFile: main, atomically: true, encoding: .utf8)
        let reloads = directory.appendingPathComponent("reloads").path
        let file = LoadBalancerFile(
            target: target,
            check: ["/usr/sbin/nginx", "-t", "-q", "-e", "\(directory.path)/error.log", "-p", directory.path, "-c", main],
            reload: ["/bin/sh", "-c", "echo reload >> \(reloads)"]
        )
        let good = "upstream outrider_web { server 127.0.0.1:1; }\n"
        #expect(await file.apply(good) == .applied)
        #expect(await file.apply(good) == .unchanged)
        let outcome = await file.apply("upstream outrider_web { server 127.0.0.1:1 }\n")
        guard case .checkFailed(let output) = outcome else {
            Issue.record("expected a failed check, got \(outcome)")
            return
        }
        #expect(output.contains("emerg"), "\(output)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == good)
        #expect(try String(contentsOfFile: reloads, encoding: .utf8) == "reload\n", "reloaded once: a failed check reloads nothing")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func aFirstFileThatFailsTheCheckIsRemoved() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("generated.cfg").path
        let file = LoadBalancerFile(target: target, check: ["/bin/false"])
        #expect(await file.apply("anything") == .checkFailed(""))
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(await LoadBalancerFile(target: target, reload: ["/nonexistent/reload"]).apply("x").result == "reload_failed")
        #expect(await LoadBalancerFile(target: directory.path + "/missing/dir/file").apply("x").result == "write_failed")
    }

    /// A burst of changes costs one rewrite.
    @Test func theGeneratorCoalescesABurstIntoOneRewrite() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("generated.conf").path
        let reloads = directory.appendingPathComponent("reloads").path
        let membership = LiveMembership(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))
        let generator = LoadBalancerGenerator(
            configuration: LoadBalancerConfiguration(format: .nginx),
            file: LoadBalancerFile(target: target, reload: ["/bin/sh", "-c", "echo reload >> \(reloads)"]),
            debounce: .milliseconds(300)
        )
        let outcomes = Mutex<[String]>([])
        let task = Task { await generator.run(following: membership) { outcome in outcomes.withLock { $0.append(outcome.result) } } }
        defer { task.cancel() }
        for index in 1...5 {
            let web = Application(name: "web", listenPort: 443, applicationPort: 8000 + index, transport: .http, domains: ["example.com"])
            membership.apply(.joined(Member(name: "b\(index)", host: "127.0.0.\(index + 1)", port: 7946, status: .alive,
                                            tags: [ApplicationTag.key: ApplicationTag.encode([web])])))
        }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: reloads) { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(700))
        let text = try String(contentsOfFile: target, encoding: .utf8)
        #expect((1...5).allSatisfy { text.contains("server 127.0.0.\($0 + 1):\(8000 + $0);") }, "\(text)")
        #expect(try String(contentsOfFile: reloads, encoding: .utf8) == "reload\n")
        #expect(outcomes.withLock { $0 } == ["applied"])
        #expect(generator.lastOutcome == .applied)
    }

    /// The last backend of an application leaving leaves its server in the file, answering 503.
    @Test func anApplicationWhoseBackendsLeftAnswers503() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("generated.conf").path
        let membership = LiveMembership(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))
        let generator = LoadBalancerGenerator(
            configuration: LoadBalancerConfiguration(format: .nginx), file: LoadBalancerFile(target: target), debounce: .milliseconds(10))
        let task = Task { await generator.run(following: membership) { _ in } }
        defer { task.cancel() }
        let web = Application(name: "web", listenPort: 8443, applicationPort: 8080, transport: .http, domains: ["example.com"])
        let member = Member(name: "b1", host: "127.0.0.2", port: 7946, status: .alive, tags: [ApplicationTag.key: ApplicationTag.encode([web])])
        membership.apply(.joined(member))
        func file() -> String { (try? String(contentsOfFile: target, encoding: .utf8)) ?? "" }
        for _ in 0..<200 where !file().contains("server 127.0.0.2:8080;") { try await Task.sleep(for: .milliseconds(50)) }
        #expect(file().contains("server 127.0.0.2:8080;"))
        membership.apply(.removed(member))
        for _ in 0..<200 where file().contains("upstream") { try await Task.sleep(for: .milliseconds(50)) }
        #expect(file().contains("listen 8443;") && file().contains("return 503;") && !file().contains("upstream"), "\(file())")
        #expect(generator.known.map(\.name) == ["web"])
    }
}
