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
    private var idle: [BackendKey: [UpstreamHandler]] = [:]
    private var isClosed = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Hands `completion` a connection to `backend`: an idle one at once, or a new one once
    /// connected. The connection's `requestCount` tells whether it was used before.
    func acquire(
        _ backend: Backend,
        settings: UpstreamSettings,
        completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        while let handler = idle[backend.key]?.popLast() {
            handler.idleTimeout?.cancel()
            handler.idleTimeout = nil
            handler.pool = nil
            if handler.isActive {
                completion(.success(handler))
                return
            }
        }
        connect(backend, settings: settings).assumeIsolated().whenComplete { result in
            completion(
                result.flatMap { channel in
                    Result { try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) }
                }
            )
        }
    }

    /// Takes back a connection whose exchange completed cleanly with keep-alive on both sides.
    func release(_ handler: UpstreamHandler, settings: UpstreamSettings) {
        handler.delegate = nil
        var handlers = idle[handler.backend.key, default: []]
        guard !isClosed, handler.isActive, handlers.count < settings.maxIdlePerBackend else {
            handler.close()
            return
        }
        handler.pool = self
        handler.idleTimeout = eventLoop.assumeIsolated().scheduleTask(in: settings.idleTimeout) { [weak handler] in
            handler?.close()
        }
        handlers.append(handler)
        idle[handler.backend.key] = handlers
        // Keep reading so a backend closing the idle connection is noticed at once.
        handler.resumeReading()
    }

    /// Drops an idle connection that closed.
    func forget(_ handler: UpstreamHandler) {
        guard var handlers = idle[handler.backend.key], let index = handlers.firstIndex(where: { $0 === handler }) else {
            return
        }
        handlers.remove(at: index)
        idle[handler.backend.key] = handlers.isEmpty ? nil : handlers
    }

    /// Closes every idle connection and keeps none from now on.
    func close() {
        isClosed = true
        let all = idle.values.flatMap { $0 }
        idle = [:]
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
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        let hostname = endpoint.isIPAddress ? nil : endpoint.host
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: hostname))
                    }
                    try pipeline.addHandler(HTTPRequestEncoder())
                    try pipeline.addHandler(
                        ByteToMessageHandler(
                            HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .forward)
                        )
                    )
                    try pipeline.addHandler(UpstreamHandler(backend: backend))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }
}
