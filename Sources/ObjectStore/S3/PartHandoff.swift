import NIOConcurrencyHelpers
import NIOCore

/// Parts pushed by a writer, pulled by an upload: the async sequence an `S3Upload` gives async-http-client as
/// its request body. A write completes once the upload has taken the part, and async-http-client takes the next
/// only when the connection can send it, so a slow store slows the writer with one part in between.
final class PartHandoff: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    private struct State {
        var queued: [(part: ByteBuffer, taken: EventLoopPromise<Void>?)] = []
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var finished = false
        var failure: (any Error)?
    }

    private let state = NIOLockedValueBox(State())

    init(first: ByteBuffer? = nil) {
        if let first, first.readableBytes > 0 { state.withLockedValue { $0.queued.append((first, nil)) } }
    }

    /// Hands `part` to the upload; `taken` completes when it has, or fails once the upload failed or ended.
    func write(_ part: ByteBuffer, taken: EventLoopPromise<Void>) {
        enum Outcome { case fail(any Error), resume(CheckedContinuation<ByteBuffer?, any Error>), queued }
        let outcome: Outcome = state.withLockedValue { state in
            if let failure = state.failure { return .fail(failure) }
            if state.finished { return .fail(S3UploadError.finished) }
            if let waiter = state.waiter {
                state.waiter = nil
                return .resume(waiter)
            }
            state.queued.append((part, taken))
            return .queued
        }
        switch outcome {
        case .fail(let error): taken.fail(error)
        case .resume(let waiter):
            waiter.resume(returning: part)
            taken.succeed()
        case .queued: break
        }
    }

    /// No more parts: the upload's body ends after the queued ones.
    func finish() {
        let waiter: CheckedContinuation<ByteBuffer?, any Error>? = state.withLockedValue { state in
            state.finished = true
            guard state.queued.isEmpty else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The body fails with `error` (the upload request then fails and the server keeps nothing); queued and later
    /// writes fail too. The first failure wins.
    func fail(_ error: any Error) {
        let (waiter, queued): (CheckedContinuation<ByteBuffer?, any Error>?, [EventLoopPromise<Void>]) = state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            let waiter = state.waiter
            state.waiter = nil
            let queued = state.queued.compactMap(\.taken)
            state.queued = []
            return (waiter, queued)
        }
        waiter?.resume(throwing: error)
        for promise in queued { promise.fail(error) }
    }

    private func next() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                enum Outcome { case part(ByteBuffer, EventLoopPromise<Void>?), end, fail(any Error), wait }
                let outcome: Outcome = state.withLockedValue { state in
                    if !state.queued.isEmpty {
                        let first = state.queued.removeFirst()
                        return .part(first.part, first.taken)
                    }
                    if let failure = state.failure { return .fail(failure) }
                    if state.finished { return .end }
                    state.waiter = continuation
                    return .wait
                }
                switch outcome {
                case .part(let part, let taken):
                    continuation.resume(returning: part)
                    taken?.succeed()
                case .end: continuation.resume(returning: nil)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            self.fail(CancellationError())
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let handoff: PartHandoff
        mutating func next() async throws -> ByteBuffer? { try await handoff.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handoff: self) }
}

/// Why an `S3Upload`'s writes fail after it ended.
enum S3UploadError: Error, CustomStringConvertible {
    case finished
    case aborted

    var description: String {
        switch self {
        case .finished: "the upload has ended"
        case .aborted: "the upload was aborted"
        }
    }
}
