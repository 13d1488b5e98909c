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

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
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

    /// An idle connection to `backend`, if one is open.
    func takeIdle(_ backend: Backend) -> UpstreamHandler? {
        eventLoop.preconditionInEventLoop()
        guard let connections = connections(to: ObjectIdentifier(backend)) else { return nil }
        while let handler = connections.handlers.popLast() {
            handler.idleTimer?.disarm()
            handler.pool = nil
            if handler.isActive {
                return handler
            }
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

    /// Takes back a connection whose exchange completed cleanly with keep-alive on both sides.
    func release(_ handler: UpstreamHandler, settings: UpstreamSettings, now: NIODeadline? = nil) {
        handler.delegate = nil
        let key = ObjectIdentifier(handler.backend)
        let (index, found) = position(of: key)
        let connections = found ? idle[index] : IdleConnections(backend: key)
        guard !isClosed, handler.isActive, connections.handlers.count < settings.maxIdlePerBackend else {
            handler.close()
            return
        }
        if !found {
            idle.insert(connections, at: index)
        }
        handler.pool = self
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
                    try pipeline.addHandler(UpstreamHandler(backend: backend))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }
}
