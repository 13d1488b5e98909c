import Synchronization
import Testing

@testable import Plugins

/// The admin requests' work under the service's task group: cancelled when its client goes,
/// refused once the service stops, and awaited by it.
@Suite struct AdminWorkTests {
    @Test func workEndsByItselfOrWhenItsClientGoes() async {
        let finished = AdminCancellation()
        let ran = Mutex(false)
        await finished.run { ran.withLock { $0 = true } }
        #expect(ran.withLock { $0 })
        // Cancelling afterwards changes nothing.
        finished.cancel()

        let cancelled = AdminCancellation()
        let sawCancellation = Mutex(false)
        async let done: Void = cancelled.run {
            // A long poll: it waits until its task is cancelled.
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            sawCancellation.withLock { $0 = true }
        }
        cancelled.cancel()
        await done
        #expect(sawCancellation.withLock { $0 })

        // A cancellation that comes before the work starts still ends it.
        let early = AdminCancellation()
        early.cancel()
        await early.run {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func runAwaitsItsWorkAndTakesNoMoreAfterFinishing() async {
        let work = AdminWork()
        let count = Mutex(0)
        let increment: @Sendable () async -> Void = { count.withLock { $0 += 1 } }
        for _ in 0..<3 {
            let accepted = work.submit(increment, cancellation: AdminCancellation())
            #expect(accepted)
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await work.run() }
            work.finish()
        }
        #expect(count.withLock { $0 } == 3)
        let acceptedAfterFinishing = work.submit(increment, cancellation: AdminCancellation())
        #expect(!acceptedAfterFinishing)
        #expect(count.withLock { $0 } == 3)
    }
}
