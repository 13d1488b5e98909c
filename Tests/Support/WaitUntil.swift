/// Polls `condition` every `poll` until it holds; throws ``TimedOut`` naming `what` when it has not held within
/// `timeout`. For what a test waits on that has no event to await (a member's state, a store's contents).
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), poll: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "timed out waiting for \(what)") }
        try await Task.sleep(for: poll)
    }
}
