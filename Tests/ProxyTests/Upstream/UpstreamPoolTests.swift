import CoreMetrics
import Logging
import NIOCore
import NIOEmbedded
import Testing
import TestSupport

@testable import Proxy

@Suite struct UpstreamPoolTests {
    private let settings = UpstreamSettings(
        connectTimeout: .seconds(1),
        idleTimeout: .seconds(15),
        maxIdlePerBackend: 2,
        responseTimeout: .seconds(1),
        tlsContext: nil
    )

    private let errors = UpstreamProtocolErrors(
        factory: NOOPMetricsHandler.instance,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )

    private func backend(_ port: Int) -> Backend {
        let endpoint = BackendEndpoint(scheme: .http, host: "127.0.0.1", port: port)
        let metrics = BackendMetrics(site: "site1", backend: endpoint.description, factory: NOOPMetricsHandler.instance)
        return Backend(key: BackendKey(site: "site1", endpoint: endpoint), metrics: metrics, now: .now())
    }

    /// An open connection to `backend` on `loop`, as the pool would have made it.
    private func connection(to backend: Backend, on loop: EmbeddedEventLoop) throws -> UpstreamHandler {
        let handler = UpstreamHandler(backend: backend, errors: errors)
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return handler
    }

    /// Connections released for many backends, in any order, are taken back for the backend
    /// they belong to, most recently released first, and none beyond the idle limit is kept.
    @Test func idleConnectionsAreKeptPerBackend() throws {
        let loop = EmbeddedEventLoop()
        let pool = UpstreamPool(eventLoop: loop, errors: errors)
        var generator = SeededGenerator(seed: 23)
        let backends = (0..<20).map { backend(9000 + $0) }
        var released: [ObjectIdentifier: [UpstreamHandler]] = [:]
        for backend in backends.shuffled(using: &generator) + backends.shuffled(using: &generator) + backends.prefix(3) {
            let handler = try connection(to: backend, on: loop)
            pool.release(handler, settings: settings)
            released[ObjectIdentifier(backend), default: []].append(handler)
        }
        for backend in backends.shuffled(using: &generator) {
            let handlers = released[ObjectIdentifier(backend)]!
            #expect(pool.takeIdle(backend) === handlers[1])
            #expect(pool.takeIdle(backend) === handlers[0])
            #expect(pool.takeIdle(backend) == nil)
        }
        #expect(pool.takeIdle(self.backend(1)) == nil)
    }

    @Test func forgottenConnectionsAreNotTakenAgain() throws {
        let loop = EmbeddedEventLoop()
        let pool = UpstreamPool(eventLoop: loop, errors: errors)
        let backends = (0..<5).map { backend(9100 + $0) }
        let handlers = try backends.map { try connection(to: $0, on: loop) }
        for handler in handlers {
            pool.release(handler, settings: settings)
        }
        pool.forget(handlers[2])
        #expect(pool.takeIdle(backends[2]) == nil)
        #expect(pool.takeIdle(backends[4]) === handlers[4])
        pool.close()
        #expect(pool.takeIdle(backends[0]) == nil)
    }

    /// After a bodiless response a connection waits before it carries another request; one
    /// that receives bytes meanwhile is closed and never handed out.
    @Test func connectionSettlesAfterABodilessResponse() throws {
        let loop = EmbeddedEventLoop()
        let pool = UpstreamPool(eventLoop: loop, errors: errors)
        let target = backend(9200)
        let settling = try connection(to: target, on: loop)
        pool.release(settling, settings: settings, settle: UpstreamPool.bodilessSettle)
        #expect(pool.takeIdle(target) == nil)
        let older = try connection(to: target, on: loop)
        pool.release(older, settings: settings)
        // Until its time is over the other connection serves; then both do.
        #expect(pool.takeIdle(target) === older)
        pool.release(older, settings: settings)
        loop.advanceTime(by: UpstreamPool.bodilessSettle)
        #expect(pool.takeIdle(target) === older)
        #expect(pool.takeIdle(target) === settling)

        let stray = try connection(to: target, on: loop)
        pool.release(stray, settings: settings, settle: UpstreamPool.bodilessSettle)
        try stray.channel.map { try ($0 as! EmbeddedChannel).writeInbound(ByteBuffer(string: "body of a HEAD")) }
        loop.advanceTime(by: UpstreamPool.bodilessSettle)
        #expect(pool.takeIdle(target) == nil)
    }

    /// A retired backend's idle connections close and its entry goes; a connection to it that
    /// comes back from a request is closed rather than pooled.
    @Test func retiredBackendsAreForgotten() throws {
        let loop = EmbeddedEventLoop()
        let pool = UpstreamPool(eventLoop: loop, errors: errors)
        let kept = backend(9300)
        let retired = backend(9301)
        let keptConnection = try connection(to: kept, on: loop)
        let idle = try connection(to: retired, on: loop)
        let inUse = try connection(to: retired, on: loop)
        pool.release(keptConnection, settings: settings)
        pool.release(idle, settings: settings)
        #expect(pool.backendCount == 2)
        retired.retire()
        pool.retire([ObjectIdentifier(retired)])
        #expect(pool.backendCount == 1)
        #expect(!idle.isActive)
        pool.release(inUse, settings: settings)
        #expect(!inUse.isActive)
        #expect(pool.backendCount == 1)
        #expect(pool.takeIdle(kept) === keptConnection)
    }
}
