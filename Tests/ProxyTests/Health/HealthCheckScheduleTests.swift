import NIOCore
import Testing
import TestSupport

@testable import Proxy

@Suite struct HealthCheckScheduleTests {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    private let interval = TimeAmount.seconds(5)

    private func at(_ seconds: Double) -> NIODeadline {
        start + .nanoseconds(Int64(seconds * 1e9))
    }

    @Test func backendsStartDownAndAreCheckedImmediately() {
        var schedule = HealthCheckSchedule(keys: ["a", "b"], interval: interval, optimistic: false, now: start)
        #expect(schedule.status(of: "a") == .down)
        #expect(schedule.nextDeadline == start)
        #expect(Set(schedule.dueChecks(now: start)) == ["a", "b"])
        // Being checked, they are not due again.
        #expect(schedule.dueChecks(now: at(100)).isEmpty)
        #expect(schedule.nextDeadline == nil)
    }

    @Test func healthyCheckBringsUpAndSchedulesWithJitterWithinOneInterval() {
        var generator = SeededGenerator(seed: 7)
        var schedule = HealthCheckSchedule(keys: ["a"], interval: interval, optimistic: false, now: start)
        _ = schedule.dueChecks(now: start)
        let transition = schedule.checkCompleted("a", healthy: true, now: at(0.1), using: &generator)
        #expect(transition == .init(key: "a", status: .up))
        let next = schedule.nextDeadline!
        #expect(next >= at(5.1))
        #expect(next <= at(10.1))
        #expect(schedule.dueChecks(now: next - .nanoseconds(1)).isEmpty)
        #expect(schedule.dueChecks(now: next) == ["a"])
    }

    @Test func jitterVaries() {
        var generator = SeededGenerator(seed: 3)
        var deadlines: Set<Int64> = []
        for _ in 0..<20 {
            var schedule = HealthCheckSchedule(keys: ["a"], interval: interval, optimistic: false, now: start)
            _ = schedule.dueChecks(now: start)
            _ = schedule.checkCompleted("a", healthy: true, now: start, using: &generator)
            deadlines.insert(Int64(schedule.nextDeadline!.uptimeNanoseconds))
        }
        #expect(deadlines.count > 10)
    }

    @Test func unhealthyCheckKeepsDownWithoutTransition() {
        var generator = SeededGenerator(seed: 1)
        var schedule = HealthCheckSchedule(keys: ["a"], interval: interval, optimistic: false, now: start)
        _ = schedule.dueChecks(now: start)
        #expect(schedule.checkCompleted("a", healthy: false, now: at(10), using: &generator) == nil)
        #expect(schedule.status(of: "a") == .down)
        #expect(schedule.nextDeadline! >= at(15))
    }

    @Test func failedCheckTakesBackendDown() {
        var generator = SeededGenerator(seed: 1)
        var schedule = HealthCheckSchedule(keys: ["a"], interval: interval, optimistic: false, now: start)
        _ = schedule.dueChecks(now: start)
        _ = schedule.checkCompleted("a", healthy: true, now: start, using: &generator)
        let due = schedule.nextDeadline!
        _ = schedule.dueChecks(now: due)
        #expect(schedule.checkCompleted("a", healthy: false, now: due, using: &generator) == .init(key: "a", status: .down))
    }

    @Test func proxyErrorTakesBackendDownUntilACheckPasses() {
        var generator = SeededGenerator(seed: 1)
        var schedule = HealthCheckSchedule(keys: ["a"], interval: interval, optimistic: false, now: start)
        _ = schedule.dueChecks(now: start)
        _ = schedule.checkCompleted("a", healthy: true, now: start, using: &generator)
        #expect(schedule.proxyFailed("a", now: at(1), using: &generator) == .init(key: "a", status: .down))
        #expect(schedule.status(of: "a") == .down)
        // A second error while down changes nothing.
        #expect(schedule.proxyFailed("a", now: at(1.5), using: &generator) == nil)
        let due = schedule.nextDeadline!
        #expect(schedule.dueChecks(now: due) == ["a"])
        #expect(schedule.checkCompleted("a", healthy: true, now: due, using: &generator) == .init(key: "a", status: .up))
    }

    @Test func optimisticModeChecksOnlyDownBackends() {
        var generator = SeededGenerator(seed: 1)
        var schedule = HealthCheckSchedule(keys: ["a", "b"], interval: interval, optimistic: true, now: start)
        #expect(Set(schedule.dueChecks(now: start)) == ["a", "b"])
        _ = schedule.checkCompleted("a", healthy: true, now: start, using: &generator)
        _ = schedule.checkCompleted("b", healthy: false, now: start, using: &generator)
        // Only b, which is down, is scheduled.
        let due = schedule.nextDeadline!
        #expect(schedule.dueChecks(now: at(1000)) == ["b"])
        #expect(due <= at(10))
        #expect(schedule.nextDeadline == nil)
        // A proxying error takes a down and schedules a check of it.
        #expect(schedule.proxyFailed("a", now: at(1000), using: &generator) == .init(key: "a", status: .down))
        let recheck = schedule.nextDeadline!
        #expect(recheck >= at(1005))
        #expect(recheck <= at(1010))
        #expect(schedule.dueChecks(now: recheck) == ["a"])
    }

    @Test func reconfigureKeepsKnownBackendsAndAddsNewOnesDown() {
        var generator = SeededGenerator(seed: 1)
        var schedule = HealthCheckSchedule(keys: ["a", "b"], interval: interval, optimistic: false, now: start)
        _ = schedule.dueChecks(now: start)
        _ = schedule.checkCompleted("a", healthy: true, now: start, using: &generator)
        _ = schedule.checkCompleted("b", healthy: true, now: start, using: &generator)
        schedule.reconfigure(keys: ["a", "c"], interval: .seconds(1), optimistic: false, now: at(1))
        #expect(schedule.status(of: "a") == .up)
        #expect(schedule.status(of: "b") == nil)
        #expect(schedule.status(of: "c") == .down)
        #expect(schedule.dueChecks(now: at(1)) == ["c"])
        #expect(schedule.interval == .seconds(1))
    }

    @Test func completionForUnknownBackendIsIgnored() {
        var generator = SeededGenerator(seed: 1)
        var schedule = HealthCheckSchedule(keys: ["a"], interval: interval, optimistic: false, now: start)
        #expect(schedule.checkCompleted("zz", healthy: true, now: start, using: &generator) == nil)
        #expect(schedule.proxyFailed("zz", now: start, using: &generator) == nil)
    }
}
