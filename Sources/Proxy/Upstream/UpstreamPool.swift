import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive connections to backends, for the handlers of one event loop.
///
/// Every connection belongs to the event loop of the client connections that use it, so a
/// request never hops threads and the pool needs no lock. Idle connections are reused last in,
/// first out (the warmest first), at most `maxIdlePerBackend` are kept per backend, and each
/// closes after `idleTimeout` unused.
final class UpstreamPool {
    let eventLoop: any EventLoop
    /// The backends that have had idle connections here, ordered by identity (a backend kept
    /// across reconfigurations is the same object) and found by binary search: looked up twice
    /// per request, where hashing the key would cost more than the search for the few backends
    /// a proxy has.
    private var idle: [IdleConnections] = []
    private var isClosed = false
    /// Counts what backends do that HTTP/1.1 does not allow; shared by every connection.
    let errors: UpstreamProtocolErrors

    /// How long a connection waits in the pool after a response that has no body by rule
    /// (to `HEAD`, `204`, `304`) before it carries another request. A backend that sends a
    /// body anyway (gunicorn answers `HEAD` with one) usually sends it at once, in the next
    /// segment: it then arrives while the connection waits, is seen as bytes on an idle
    /// connection, and the connection is closed instead of handing those bytes to the next
    /// request as its response.
    static let bodilessSettle = TimeAmount.milliseconds(100)

    init(eventLoop: any EventLoop, errors: UpstreamProtocolErrors) {
        self.eventLoop = eventLoop
        self.errors = errors
    }

    /// The connections to one backend waiting for a request.
    private final class IdleConnections {
        let backend: ObjectIdentifier
        var handlers: [UpstreamHandler] = []

        init(backend: ObjectIdentifier) {
            self.backend = backend
        }
    }

    /// Where the connections to `backend` are in ``idle``, or where they would go.
    private func position(of backend: ObjectIdentifier) -> (index: Int, found: Bool) {
        var low = 0
        var high = idle.count
        while low < high {
            let middle = (low + high) / 2
            let key = idle[middle].backend
            if key == backend { return (middle, true) }
            if key < backend { low = middle + 1 } else { high = middle }
        }
        return (low, false)
    }

    private func connections(to backend: ObjectIdentifier) -> IdleConnections? {
        let (index, found) = position(of: backend)
        return found ? idle[index] : nil
    }

    /// An idle connection to `backend` that may carry a request now (see
    /// ``UpstreamHandler/isFree`` and ``UpstreamHandler/settlesUntil``), the most recently
    /// used first, if one is open.
    /// Connections still settling stay in the pool; closed ones are dropped.
    func takeIdle(_ backend: Backend) -> UpstreamHandler? {
        eventLoop.preconditionInEventLoop()
        guard let connections = connections(to: ObjectIdentifier(backend)) else { return nil }
        if let last = connections.handlers.last, last.isFree, last.settlesUntil == nil {
            // The common case: the most recently used connection is ready.
            connections.handlers.removeLast()
            last.idleTimer?.disarm()
            last.pool = nil
            return last
        }
        var now: NIODeadline?
        var index = connections.handlers.count
        while index > 0 {
            index -= 1
            let handler = connections.handlers[index]
            guard handler.isActive else {
                connections.handlers.remove(at: index)
                handler.idleTimer?.disarm()
                handler.pool = nil
                continue
            }
            guard handler.isFree else { continue }
            if let settlesUntil = handler.settlesUntil {
                let current = now ?? eventLoop.now
                now = current
                guard current >= settlesUntil else { continue }
            }
            if index == connections.handlers.count - 1 {
                connections.handlers.removeLast()
            } else {
                connections.handlers.remove(at: index)
            }
            handler.idleTimer?.disarm()
            handler.pool = nil
            handler.settlesUntil = nil
            return handler
        }
        return nil
    }

    /// Hands `completion` a new connection to `backend` once connected.
    func connect(
        _ backend: Backend,
        settings: UpstreamSettings,
        completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        connect(backend, settings: settings).assumeIsolated().whenComplete { result in
            completion(
                result.flatMap { channel in
                    Result { try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) }
                }
            )
        }
    }

    /// Takes back a connection whose exchange completed cleanly with keep-alive on both sides:
    /// its response ended where its framing says, and no byte is left of it.
    ///
    /// - Parameter settle: how long the connection waits before it may carry another request
    ///   (see ``bodilessSettle``); bytes arriving meanwhile close it.
    func release(_ handler: UpstreamHandler, settings: UpstreamSettings, now: NIODeadline? = nil, settle: TimeAmount? = nil) {
        handler.delegate = nil
        let key = ObjectIdentifier(handler.backend)
        let (index, found) = position(of: key)
        let connections = found ? idle[index] : IdleConnections(backend: key)
        guard !isClosed, handler.isActive, !handler.backend.isRetired, connections.handlers.count < settings.maxIdlePerBackend else {
            handler.close()
            return
        }
        if !found {
            idle.insert(connections, at: index)
        }
        handler.pool = self
        if let settle {
            handler.settlesUntil = (now ?? eventLoop.now) + settle
        }
        handler.idleTimer?.arm(in: settings.idleTimeout, now: now)
        connections.handlers.append(handler)
        // Keep reading so a backend closing the idle connection is noticed at once.
        handler.resumeReading()
    }

    /// Drops an idle connection that closed or timed out.
    func forget(_ handler: UpstreamHandler) {
        handler.pool = nil
        guard let connections = connections(to: ObjectIdentifier(handler.backend)),
            let index = connections.handlers.firstIndex(where: { $0 === handler })
        else { return }
        connections.handlers.remove(at: index)
    }

    /// Closes and forgets the idle connections to backends that have left their sites
    /// (``Backend/retire()``), so the pool does not grow with every backend that ever came and
    /// went; connections in use close when their request lets them go.
    func retire(_ backends: Set<ObjectIdentifier>) {
        var gone: [UpstreamHandler] = []
        idle.removeAll { connections in
            guard backends.contains(connections.backend) else { return false }
            gone.append(contentsOf: connections.handlers)
            return true
        }
        for handler in gone {
            handler.pool = nil
            handler.close()
        }
    }

    /// How many backends the pool keeps idle connections for, for tests of retirement.
    var backendCount: Int { idle.count }

    /// Closes every idle connection and keeps none from now on.
    func close() {
        isClosed = true
        let all = idle.flatMap(\.handlers)
        idle = []
        for handler in all {
            handler.pool = nil
            handler.close()
        }
    }

    private func connect(_ backend: Backend, settings: UpstreamSettings) -> EventLoopFuture<any Channel> {
        let endpoint = backend.endpoint
        let errors = self.errors
        let tlsContext = endpoint.scheme == .https ? settings.tlsContext : nil
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Large bodies are read in up to 256 KiB at a time (NIO's default stops at 64 KiB):
            // fewer reads and writes per megabyte; backpressure still holds reads while the
            // client is not writable.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        let hostname = endpoint.isIPAddress ? nil : endpoint.host
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: hostname))
                    }
                    try pipeline.addHandler(UpstreamHandler(backend: backend, errors: errors))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }
}
