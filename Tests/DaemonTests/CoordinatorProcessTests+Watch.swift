import Foundation
import TestSupport
import Testing

extension CoordinatorProcessTests {
    /// A watch (`?after=REV&wait=30s`) answers with the revision a Put then commits: through the leader, through a
    /// follower (woken by the leader's answer to the Put it forwarded), and on the leader for a Put forwarded to
    /// it. Behaviour only: how soon is for `bench/`.
    @Test func watchesReturnTheRevisionCommittedThroughTheirMember() async throws {
        let members = [try await start("w0"), try await start("w1")]
        let leader = try await leader(of: members)
        let follower = members.first { $0 !== leader }!

        for (watched, writer, key) in [(leader, leader, "through-leader"), (follower, follower, "through-follower"), (leader, follower, "forwarded")] {
            let first = try await put(writer, key, "v0")
            #expect(first.status == 201, "\(first.body)")
            let from = try #require((HTTPCall.json(first.body) as? [String: Any])?["revision"] as? Int)
            let port = watched.admin
            async let watch = HTTPCall.send("GET", port, "/v1/coordinator/kv/\(key)?after=\(from)&wait=30s", timeout: 40)
            // The watch may start waiting before or after the Put: either way it answers with the new revision.
            try await Task.sleep(for: .milliseconds(100))
            let second = try await put(writer, key, "v1")
            #expect(second.status == 201, "\(second.body)")
            let revision = try #require((HTTPCall.json(second.body) as? [String: Any])?["revision"] as? Int)
            let answer = try await watch
            #expect(answer.status == 200, "\(answer.body)")
            let values = (HTTPCall.json(answer.body) as? [String: Any])?["values"] as? [[String: Any]] ?? []
            #expect(values.map { $0["revision"] as? Int } == [revision], "\(key): \(answer.body)")
            #expect(values.map { $0["value"] as? String } == ["v1"], "\(key): \(answer.body)")
        }

        for member in members { member.daemon.signal(SIGTERM) }
        for member in members { #expect(try await member.daemon.waitForExit() == 0) }
    }
}
