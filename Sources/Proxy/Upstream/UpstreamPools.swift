import NIOConcurrencyHelpers
import NIOCore

/// The ``UpstreamPool`` of each event loop, created on first use.
final class UpstreamPools: Sendable {
    private let pools = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBound<UpstreamPool>]>([:])
    let errors: UpstreamProtocolErrors

    init(errors: UpstreamProtocolErrors) {
        self.errors = errors
    }

    /// The pool of `eventLoop`; call on that event loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        eventLoop.preconditionInEventLoop()
        return pools.withLockedValue { pools in
            if let pool = pools[ObjectIdentifier(eventLoop)] { return pool.value }
            let pool = UpstreamPool(eventLoop: eventLoop, errors: errors)
            pools[ObjectIdentifier(eventLoop)] = NIOLoopBound(pool, eventLoop: eventLoop)
            return pool
        }
    }

    /// Retires `backends` from every pool (see ``UpstreamPool/retire(_:)``), each on its own
    /// event loop.
    func retire(_ backends: [Backend]) -> [EventLoopFuture<Void>] {
        let keys = Set(backends.map { ObjectIdentifier($0) })
        let all = pools.withLockedValue { Array($0.values) }
        return all.map { bound in
            bound.eventLoop.submit { bound.value.retire(keys) }
        }
    }

    /// Closes the idle connections of every pool, each on its own event loop.
    func closeAll() -> [EventLoopFuture<Void>] {
        let all = pools.withLockedValue { Array($0.values) }
        return all.map { bound in
            bound.eventLoop.submit { bound.value.close() }
        }
    }
}
