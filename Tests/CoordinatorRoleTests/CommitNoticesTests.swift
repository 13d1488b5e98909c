@testable import CoordinatorRole
import Synchronization
import TestSupport
import Testing

/// The notices that wake a member's watches when a commit goes through it. Each wait here has a timeout far
/// longer than the test's patience (`waitUntil`, 10 s), so a wait that ends did so because of the notice (or its
/// cancellation), not because its timeout fired.
@Suite struct CommitNoticesTests {
    static let forever: Duration = .seconds(600)

    /// A wait in a task of its own, and whether it has ended.
    final class Watch: Sendable {
        final class Flag: Sendable {
            let raised = Mutex(false)
        }

        let task: Task<Void, Never>
        private let ended = Flag()

        init(_ notices: CommitNotices, key: String, since mark: CommitNotices.Mark) {
            let ended = ended
            task = Task {
                await notices.wait(for: key, since: mark, upTo: CommitNoticesTests.forever)
                ended.raised.withLock { $0 = true }
            }
        }

        var hasEnded: Bool { ended.raised.withLock { $0 } }
    }

    @Test func aCommitToTheKeyEndsTheWait() async throws {
        let notices = CommitNotices()
        let watch = Watch(notices, key: "config", since: notices.mark)
        try await waitUntil("the watch waiting", poll: .milliseconds(10)) { notices.waiting == 1 }
        notices.committed("other")
        #expect(notices.waiting == 1, "a commit to another key leaves the watch waiting")
        #expect(!watch.hasEnded)
        notices.committed("config")
        try await waitUntil("the watch answered", poll: .milliseconds(10)) { watch.hasEnded }
        #expect(notices.waiting == 0)
    }

    @Test func aCommitBetweenTheMarkAndTheWaitEndsItAtOnce() async throws {
        let notices = CommitNotices()
        let mark = notices.mark
        notices.committed("elsewhere")
        let watch = Watch(notices, key: "config", since: mark)
        try await waitUntil("the watch answered", poll: .milliseconds(10)) { watch.hasEnded }
        #expect(notices.waiting == 0)
    }

    @Test func cancellingAWaitEndsItAndLeavesNothingBehind() async throws {
        let notices = CommitNotices()
        let watches = (0..<20).map { _ in Watch(notices, key: "config", since: notices.mark) }
        // Some are cancelled before they start waiting, some while they wait.
        for watch in watches.prefix(10) { watch.task.cancel() }
        try await waitUntil("ten watches answered, ten waiting", poll: .milliseconds(10)) { watches.prefix(10).allSatisfy(\.hasEnded) && notices.waiting == 10 }
        let stillWaiting = watches.suffix(10).allSatisfy { !$0.hasEnded }
        #expect(stillWaiting)
        for watch in watches.suffix(10) { watch.task.cancel() }
        try await waitUntil("every watch answered", poll: .milliseconds(10)) { watches.allSatisfy(\.hasEnded) }
        #expect(notices.waiting == 0)
    }
}
