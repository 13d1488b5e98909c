import Synchronization

/// The work of the admin listener's role routes and `/v1/status`, run as child tasks of the
/// service that runs the listener (``run()``), so that no request's task escapes the service's
/// scope: when the service stops, its requests are cancelled with it and awaited.
///
/// A request's handler is submitted by the connection that read it and cancelled when that
/// connection goes away (``AdminCancellation``): a 30 s long poll whose client has left frees
/// its task at once.
public final class AdminWork: Sendable {
    struct Job: Sendable {
        var work: @Sendable () async -> Void
        var cancellation: AdminCancellation
    }

    private let jobs: AsyncStream<Job>
    private let submissions: AsyncStream<Job>.Continuation

    public init() {
        (jobs, submissions) = AsyncStream.makeStream(of: Job.self)
    }

    /// Queues `work`; `false` once the work has finished (``finish()``), when nothing more runs.
    func submit(_ work: @escaping @Sendable () async -> Void, cancellation: AdminCancellation) -> Bool {
        if case .enqueued = submissions.yield(Job(work: work, cancellation: cancellation)) {
            return true
        }
        return false
    }

    /// Runs what is submitted, each request as a child task, until ``finish()``; returns once
    /// every request has ended.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask {
                    await job.cancellation.run(job.work)
                }
            }
        }
    }

    /// Takes no more work; ``run()`` returns once what is running has ended.
    public func finish() {
        submissions.finish()
    }
}

/// Cancels one request's work when its client goes away, from the connection's event loop.
final class AdminCancellation: Sendable {
    private enum State {
        case running
        case waiting(CheckedContinuation<Void, Never>)
        case cancelled
    }

    private let state = Mutex(State.running)
    private let left = Atomic(false)

    /// Whether the client went away: set at once, while the work's task hears of its
    /// cancellation a moment later, so that an error the departure caused meanwhile is known
    /// for what it is.
    var clientLeft: Bool { left.load(ordering: .acquiring) }

    /// The client went away: the work is cancelled.
    func cancel() {
        left.store(true, ordering: .releasing)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = .cancelled }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        waiter?.resume()
    }

    /// Runs `work` until it ends or ``cancel()`` is called, whichever comes first; in the second
    /// case the work is cancelled and awaited.
    func run(_ work: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await work() }
            group.addTask { await self.cancelled() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once ``cancel()`` is called, or once the task is cancelled (the work ended first).
    private func cancelled() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    switch state {
                    case .cancelled:
                        return true
                    case .running:
                        state = .waiting(continuation)
                        return false
                    case .waiting:
                        return true
                    }
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state = .cancelled }
                if case .waiting(let continuation) = state { return continuation }
                return nil
            }
            waiter?.resume()
        }
    }
}
