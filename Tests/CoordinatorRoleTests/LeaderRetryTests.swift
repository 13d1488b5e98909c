@testable import CoordinatorRole
import Coordination
import Foundation
import NIOCore
import Plugins
import Testing

/// Which answers of a leader send a call again to the next leader, and that the original deadline is kept.
@Suite struct LeaderRetryTests {
    static let start = ContinuousClock.now

    @Test func onlyAGoneLeaderIsRetriedAndDefiniteAnswersPassThrough() {
        let retry = LeaderRetry(wait: .seconds(10), from: Self.start)
        let now = Self.start + .seconds(1)
        #expect(retry.decide(.definite, at: now) == .deliver)
        for answer in [LeaderRetry.Answer.unreachable, .noLeader, .leaderGone] {
            #expect(retry.decide(answer, at: now) == .retry(after: LeaderRetry.pause), "\(answer)")
        }
        // Past the deadline a definite answer is still delivered; a failure is the answer.
        let late = Self.start + .seconds(11)
        #expect(retry.decide(.definite, at: late) == .deliver)
        #expect(retry.decide(.unreachable, at: late) == .giveUp)
        #expect(retry.decide(.leaderGone, at: Self.start + .seconds(10)) == .giveUp)
    }

    @Test func theDeadlineIsKeptAndNeverExtended() {
        let retry = LeaderRetry(wait: .seconds(5), from: Self.start)
        #expect(retry.remaining(at: Self.start) == .seconds(5))
        #expect(retry.remaining(at: Self.start + .milliseconds(3_200)) == .milliseconds(1_800))
        #expect(retry.remaining(at: Self.start + .seconds(6)) == .zero)
        // Close to the deadline the pause is what is left, so the last attempt goes before it, not after.
        #expect(retry.decide(.noLeader, at: Self.start + .milliseconds(4_960)) == .retry(after: .milliseconds(40)))
        // A wait of zero (or less) tries once.
        let once = LeaderRetry(wait: .zero, from: Self.start)
        #expect(once.decide(.unreachable, at: Self.start) == .giveUp)
        #expect(LeaderRetry(wait: .seconds(-1), from: Self.start).remaining(at: Self.start) == .zero)
    }

    @Test func aLeadersAnswerIsClassifiedByStatusAndMarker() {
        func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
        #expect(LeaderRetry.classify(status: 503, body: body(#"{"error": "the member is stopping", "retry": "next_leader"}"#)) == .leaderGone)
        // The same marker on another status, a 503 without it (the store is down), and bytes that are not JSON.
        #expect(LeaderRetry.classify(status: 409, body: body(#"{"error": "full", "retry": "next_leader"}"#)) == .definite)
        #expect(LeaderRetry.classify(status: 200, body: body(#"{"holder": "a"}"#)) == .definite)
        #expect(LeaderRetry.classify(status: 503, body: body(#"{"error": "store unavailable: locked"}"#)) == .definite)
        #expect(LeaderRetry.classify(status: 503, body: body(#"{"retry": 1}"#)) == .definite)
        #expect(LeaderRetry.classify(status: 503, body: body("\u{0}\u{FF}not json")) == .definite)
        #expect(LeaderRetry.classify(status: 503, body: body("[]")) == .definite)
        #expect(LeaderRetry.classify(status: 503, body: ByteBuffer()) == .definite)
    }

    @Test func theLeadersOwnAnswerIsRecognisedByTheFollower() {
        let response = LeaderRetry.leaderGoneResponse("the member is stopping")
        #expect(response.status == .serviceUnavailable)
        #expect(LeaderRetry.classify(status: Int(response.status.code), body: response.body) == .leaderGone)
        #expect(LeaderRetry.errorReason(response.body) == "the member is stopping")
    }

    @Test func aRefusalsReasonIsReadFromTheJSONErrorField() {
        #expect(LeaderRetry.errorReason(ByteBuffer(string: #"{"error": "client certificate expired"}"#)) == "client certificate expired")
        #expect(LeaderRetry.errorReason(ByteBuffer(string: #"{"error": ""}"#)) == nil)
        #expect(LeaderRetry.errorReason(ByteBuffer(string: "unauthorized")) == nil)
        #expect(LeaderRetry.errorReason(ByteBuffer(string: #"{"error": "\#(String(repeating: "x", count: 2000))"}"#))?.count == 500)
    }

    @Test func onlyAKeyedPutWhoseLeaderWasGoneIsResent() {
        let gone: Result<AdminResponse, any Error> = .success(LeaderRetry.leaderGoneResponse("this member is not the leader"))
        let unreachable: Result<AdminResponse, any Error> = .failure(LeaderFailure.unreachable("the leader m0 at 127.0.0.1:1 cannot be reached"))
        let noLeader: Result<AdminResponse, any Error> = .failure(LeaderFailure.noLeader("no leader in group g"))
        #expect(LeaderRetry.resend(gone, idempotencyKey: "k") == .leaderGone)
        #expect(LeaderRetry.resend(unreachable, idempotencyKey: "k") == .unreachable)
        #expect(LeaderRetry.resend(noLeader, idempotencyKey: "k") == .noLeader)
        // Without a key nothing is resent: the leader may have committed it before it went.
        for result in [gone, unreachable, noLeader] { #expect(LeaderRetry.resend(result, idempotencyKey: nil) == nil) }
        // Definite answers are the Put's answer: committed, a reused key, the store's 503, the leader's 401 as 503.
        let definite: [Result<AdminResponse, any Error>] = [
            .success(.json(["key": "k", "revision": 3], status: .created)),
            .success(.json(["error": "the Idempotency-Key was used for another request"], status: .conflict)),
            .success(.json(["error": "store unavailable: database is locked"], status: .serviceUnavailable)),
            .failure(AdminError.serviceUnavailable("the leader m0 refused this member: client certificate expired")),
        ]
        for result in definite { #expect(LeaderRetry.resend(result, idempotencyKey: "k") == nil) }
    }

    @Test func aLeadershipEndingRefusalIsAFailureToRetryAndOthersAre503() {
        #expect((MemberRefusal.notLeader.failure as? LeaderFailure)?.answer == .leaderGone)
        #expect((MemberRefusal.stopping.failure as? LeaderFailure)?.answer == .leaderGone)
        #expect(MemberRefusal.storeUnavailable("locked").failure as? AdminError == AdminError.serviceUnavailable("locked"))
    }
}
