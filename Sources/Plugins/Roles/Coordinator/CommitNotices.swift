import Synchronization

/// Wakes the watches waiting on this member (`GET /kv/{key}?after=REV&wait=…`) as soon as a commit to their key
/// passes through it — the leader's own commit, or the leader's answer to a Put this member forwarded — rather
/// than at the watch's next poll of the store. The poll stays: commits made through other members (another
/// process on the SQLite file, another host on PostgreSQL) reach this member only through the store. etcd's
/// watchable store works the same way: the member applying a write notifies its synced watchers at once, and
/// unsynced ones catch up from the log.
///
/// A watch takes ``mark`` before it reads the store and waits with it, so that a commit between the read and
/// the wait is not missed: any commit since the mark, to whatever key, ends the wait at once (one more read of
/// the store, cheaper than the bookkeeping that would tell the keys apart).
final class CommitNotices: Sendable {
    private struct State {
        /// Commits noticed so far, to any key.
        var count: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var slots: [UInt64: Slot] = [:]
    }

    /// One waiting watch; its entry goes when it is resumed.
    private enum Slot {
        /// Between taking an id and handing over its continuation.
        case starting
        /// Cancelled while starting: resumed as soon as it hands over its continuation.
        case cancelled
        case waiting(key: String, CheckedContinuation<Void, Never>)
    }

    private let state = Mutex(State())

    /// What a watch holds from before its read of the store until its wait.
    struct Mark: Sendable {
        fileprivate var count: UInt64
    }

    var mark: Mark { state.withLock { Mark(count: $0.count) } }

    /// A commit to `key` went through this member: the watches on it stop waiting.
    func committed(_ key: String) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count &+= 1
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, slot) in state.slots {
                guard case .waiting(let waitingKey, let continuation) = slot, waitingKey == key else { continue }
                state.slots.removeValue(forKey: id)
                woken.append(continuation)
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when a commit to `key` goes through this member, at once if any commit did since `mark`, after
    /// `timeout` otherwise, or when the task is cancelled.
    func wait(for key: String, since mark: Mark, upTo timeout: Duration) async {
        if state.withLock({ $0.count != mark.count }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.notice(key, since: mark) }
            await group.next()
            group.cancelAll()
        }
    }

    /// The number of watches waiting (for the tests).
    var waiting: Int { state.withLock { $0.slots.count } }

    private func notice(_ key: String, since mark: Mark) async {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiter &+= 1 }
            state.slots[state.nextWaiter] = .starting
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if case .cancelled = state.slots[id] {
                        state.slots.removeValue(forKey: id)
                        return true
                    }
                    if state.count != mark.count {
                        state.slots.removeValue(forKey: id)
                        return true
                    }
                    state.slots[id] = .waiting(key: key, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                switch state.slots[id] {
                case .starting?:
                    state.slots[id] = .cancelled
                    return nil
                case .waiting(_, let continuation)?:
                    state.slots.removeValue(forKey: id)
                    return continuation
                case .cancelled?, nil:
                    return nil
                }
            }
            continuation?.resume()
        }
    }
}
