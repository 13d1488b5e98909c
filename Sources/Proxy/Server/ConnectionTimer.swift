import NIOCore

/// A deadline on one event loop, re-armed per request without scheduling a task each time.
///
/// A keep-alive connection arms its idle and response deadlines for every request; scheduling
/// and cancelling a NIO task for each would cost a heap insertion and an allocation per
/// request. Instead one task stays scheduled: arming only moves the deadline (or schedules
/// earlier when the new deadline comes first), and a task that fires before the current
/// deadline re-schedules itself for it.
///
/// `onExpiry` usually refers to the timer's owner, which refers to the timer: ``cancel()``
/// drops it, and owners cancel when their connection goes away.
final class ConnectionTimer {
    private let eventLoop: any EventLoop
    private var onExpiry: (() -> Void)?
    private var deadline: NIODeadline?
    private var scheduled: Scheduled<Void>?
    private var scheduledFor: NIODeadline?

    /// - Parameter onExpiry: called on the event loop when an armed deadline passes.
    init(eventLoop: any EventLoop, onExpiry: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.onExpiry = onExpiry
    }

    /// Sets the deadline `amount` from now; `now`, when the caller has just read the clock,
    /// saves reading it again.
    func arm(in amount: TimeAmount, now: NIODeadline? = nil) {
        let deadline = (now ?? eventLoop.now) + amount
        self.deadline = deadline
        if let scheduledFor, scheduledFor <= deadline { return }
        schedule(at: deadline)
    }

    /// Forgets the deadline; a task already scheduled fires and does nothing.
    func disarm() {
        deadline = nil
    }

    /// Forgets the deadline and cancels the task, when the connection goes away; the timer
    /// does nothing from then on.
    func cancel() {
        onExpiry = nil
        deadline = nil
        scheduled?.cancel()
        scheduled = nil
        scheduledFor = nil
    }

    private func schedule(at deadline: NIODeadline) {
        scheduled?.cancel()
        scheduledFor = deadline
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            fired()
        }
    }

    private func fired() {
        scheduled = nil
        scheduledFor = nil
        guard let deadline else { return }
        if deadline > eventLoop.now {
            schedule(at: deadline)
        } else {
            self.deadline = nil
            onExpiry?()
        }
    }
}
