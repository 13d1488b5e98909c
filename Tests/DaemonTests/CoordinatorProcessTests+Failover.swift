import Foundation
import TestSupport
import Testing

extension CoordinatorProcessTests {
    /// A client waits for a slot of a full semaphore through a follower; the leader is stopped (SIGTERM) or killed
    /// (SIGKILL) while it waits, and the slot is released on the new leader: the client gets the slot (200) within
    /// its wait, without retrying, and the semaphore is never over its limit. With SIGTERM, a Put with an
    /// Idempotency-Key sent through the follower as the leader stops is committed (the follower sends it to the
    /// next leader), once.
    @Test(arguments: [SIGTERM, SIGKILL]) func aWaitingAcquireOutlivesTheLeader(_ signal: Int32) async throws {
        let members = [try await start("f0"), try await start("f1"), try await start("f2")]
        let first = try await leader(of: members)
        let followers = members.filter { $0 !== first }
        let through = followers[0]

        let owner = try await HTTPCall.send(
            "POST", followers[1].admin, "/v1/coordinator/semaphores/jobs/acquire", body: #"{"limit": 1, "holder": "owner", "ttl": "120s"}"#, timeout: 10)
        #expect(owner.status == 200, "\(owner.body)")

        let started = ContinuousClock.now, port = through.admin
        async let waiting = HTTPCall.send(
            "POST", port, "/v1/coordinator/semaphores/jobs/acquire",
            body: #"{"limit": 1, "holder": "waiter", "ttl": "60s", "wait": "50s"}"#, timeout: 70)
        // Time for the acquire to reach the leader's queue. Whether it is there or still on its way when the
        // leader goes, the outcome must be the same.
        try await Task.sleep(for: .seconds(1))
        first.daemon.signal(signal)
        let keyed = signal == SIGTERM ? try await put(through, "failover", "once", idempotencyKey: "failover-1") : nil

        // The followers agree on a new leader (after SIGKILL they name the dead one until its term runs out).
        var found: Member?
        try await eventually(timeout: .seconds(20)) {
            found = try? await leader(of: followers, timeout: .seconds(1))
            return found != nil && found !== first
        }
        let next = try #require(found)
        var released: (status: Int, body: String)?
        try await eventually(timeout: .seconds(10)) {
            released = try? await HTTPCall.send(
                "POST", next.admin, "/v1/coordinator/semaphores/jobs/release", body: #"{"holder": "owner"}"#, timeout: 5)
            return released?.status == 200
        }
        let answer = try await waiting
        print("acquire through a follower after \(signal == SIGTERM ? "SIGTERM" : "SIGKILL") of the leader: \(answer.status) after \(ContinuousClock.now - started)")
        #expect(answer.status == 200, "\(answer.body)")
        #expect((HTTPCall.json(answer.body) as? [String: Any])?["holder"] as? String == "waiter", "\(answer.body)")

        let state = try await HTTPCall.send("GET", next.admin, "/v1/coordinator/semaphores/jobs")
        let holders = ((HTTPCall.json(state.body) as? [String: Any])?["holders"] as? [[String: Any]])?.compactMap { $0["holder"] as? String }
        #expect(holders == ["waiter"], "\(state.body)")

        if let keyed {
            #expect(keyed.status == 201, "\(keyed.body)")
            #expect(try await values(next, "failover") == ["once"])
        }

        if signal == SIGTERM { #expect(try await first.daemon.waitForExit() == 0) }
        for member in followers { member.daemon.signal(SIGTERM) }
        for member in followers { #expect(try await member.daemon.waitForExit() == 0) }
    }
}
