import Foundation
import Testing

extension CoordinatorProcessTests {
    /// The follower's count of peer calls of `kind` that were answered.
    func peerCalls(_ member: Member, kind: String) async throws -> Int {
        let metrics = try await AdminClient.get(member.admin, "/metrics").body
        let prefix = #"outrider_coordinator_peer_requests_total{kind="\#(kind)",result="ok"} "#
        return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    /// Concurrent Puts through a follower go to the leader together, in fewer peer calls than Puts
    /// (`/v1/peer/puts`), and each is answered as on its own: committed once with its own revision, a retry with
    /// its Idempotency-Key replayed with the first answer, a key reused for another value refused.
    @Test func concurrentPutsThroughAFollowerGoTogether() async throws {
        let members = [try await start("m0"), try await start("m1"), try await start("m2")]
        let leader = try await leader(of: members)
        let follower = members.first { $0 !== leader }!

        let port = follower.admin
        func putAll(_ values: [String], key: (String) -> String) async throws -> [(value: String, status: Int, body: String, headers: [String: String])] {
            try await withThrowingTaskGroup(of: (String, Int, String, [String: String]).self) { group in
                for value in values {
                    let idempotencyKey = key(value)
                    group.addTask {
                        let answer = try await HTTPCall.exchange("PUT", port, "/v1/coordinator/kv/many", body: value, headers: ["Idempotency-Key": idempotencyKey], timeout: 30)
                        return (value, answer.status, answer.body, answer.headers)
                    }
                }
                var answers: [(value: String, status: Int, body: String, headers: [String: String])] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
        }
        func revision(_ body: String) -> Int? { (HTTPCall.json(body) as? [String: Any])?["revision"] as? Int }

        // Rounds of 64 at once until some went together: how many overlap is the machine's to decide.
        var written: [String: Int] = [:]
        var rounds = 0
        repeat {
            let values = (0..<64).map { "r\(rounds)-\($0)" }
            for answer in try await putAll(values, key: { "key-\($0)" }) {
                #expect(answer.status == 201, "\(answer.value): \(answer.body)")
                if let revision = revision(answer.body) { written[answer.value] = revision }
            }
            rounds += 1
        } while try await peerCalls(follower, kind: "put") >= written.count && rounds < 20
        let calls = try await peerCalls(follower, kind: "put")
        print("coordinator: \(written.count) Puts through a follower in \(calls) peer calls over \(rounds) rounds")
        #expect(calls < written.count, "Puts went to the leader together")
        #expect(Set(written.values).count == written.count, "each Put its own revision")

        // Retries with the same keys, and the same keys for other values, all at once.
        let retried = Array(written.keys.sorted().prefix(24))
        let answers = try await putAll(retried + retried.prefix(8).map { $0 + "-other" }) { value in
            "key-" + (value.hasSuffix("-other") ? String(value.dropLast("-other".count)) : value)
        }
        for answer in answers {
            if answer.value.hasSuffix("-other") {
                #expect(answer.status == 409, "\(answer.value): \(answer.body)")
            } else {
                #expect(answer.status == 201, "\(answer.value): \(answer.body)")
                #expect(answer.headers["idempotent-replayed"] == "true", "\(answer.value): \(answer.headers)")
                #expect(revision(answer.body) == written[answer.value], "the first answer again")
            }
        }

        // The log holds every acknowledged value once.
        let stored = try await values(leader, "many")
        #expect(stored.count == written.count)
        #expect(Set(stored) == Set(written.keys))
        for member in members { member.daemon.signal(SIGTERM) }
        for member in members { #expect(try await member.daemon.waitForExit() == 0) }
    }
}
