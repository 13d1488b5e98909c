import CoreMetrics
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// A real ``ProxyHandler`` and its ``RequestReader`` on an `EmbeddedChannel`, with one backend
/// connection, a real ``UpstreamHandler`` on a second `EmbeddedChannel`, waiting in the event
/// loop's pool. Time is the `EmbeddedEventLoop`'s manual clock, so each timeout is checked one
/// nanosecond before it falls due and at it, without waiting for it.
@Suite struct ProxyHandlerTests {
    static let headerReadTimeout = TimeAmount.seconds(10)
    static let idleTimeout = TimeAmount.seconds(120)

    @Test func slowHeaderIsCutOff() throws {
        let proxy = try EmbeddedProxy()
        let opened = proxy.loop.now
        // A slowloris client: one byte a second keeps the connection busy but never ends the
        // head; the deadline counts from the connection's start, not from the last byte.
        for byte in "GET / HTTP/1.1\r\nHost: t\r\n".utf8.prefix(9) {
            try proxy.send(ByteBuffer(bytes: [byte]))
            proxy.loop.advanceTime(by: .seconds(1))
        }
        proxy.expectClientClosed(at: opened + Self.headerReadTimeout)
        #expect(try proxy.received() == "")
        #expect(try proxy.backendReceived() == "")
        #expect(proxy.pool.takeIdle(proxy.target) === proxy.upstream, "the backend connection was taken for an unfinished head")
    }

    /// The next head on a kept-alive connection gets `header_read_timeout` from its first
    /// byte, not what is left of the two-minute idle timeout.
    @Test func slowHeaderOnKeptAliveConnectionIsCutOff() throws {
        let proxy = try EmbeddedProxy()
        try proxy.send("GET /first HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try proxy.backendReceived().hasPrefix("GET /first HTTP/1.1\r\n"))
        try proxy.respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(try proxy.received() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        // Idle longer than a head may take: the wait for a first byte is the idle timeout's.
        proxy.loop.advanceTime(by: Self.headerReadTimeout * 3)
        try proxy.send("GET /second HTTP/1.1\r\n")
        let begun = proxy.loop.now
        proxy.loop.advanceTime(by: .seconds(1))
        try proxy.send("Host: t\r\n")
        proxy.expectClientClosed(at: begun + Self.headerReadTimeout)
        #expect(try proxy.received() == "")
        #expect(try proxy.backendReceived() == "")
    }

    /// Who answered the last request on a kept-alive connection: the idle timer is armed on
    /// two paths, after the proxy's own answer and after a backend's response.
    enum Answerer: CaseIterable {
        case proxy
        case backend
    }

    @Test(arguments: Answerer.allCases)
    func idleKeepAliveConnectionIsClosed(answeredBy answerer: Answerer) throws {
        let proxy = try EmbeddedProxy()
        // The idle time counts from the answer, not from the connection's start.
        proxy.loop.advanceTime(by: .seconds(5))
        switch answerer {
        case .proxy:
            try proxy.send("GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try proxy.received() == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        case .backend:
            try proxy.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            proxy.loop.advanceTime(by: .seconds(1))
            try proxy.respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            #expect(try proxy.received() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
        let answered = proxy.loop.now
        proxy.expectClientClosed(at: answered + Self.idleTimeout)
        #expect(try proxy.received() == "")
    }

    /// A client that does not read its response holds back the backend: what the backend sent
    /// is passed on, but the backend connection's next read waits until the client drains, so
    /// nothing piles up in the proxy.
    @Test func slowClientHoldsBackTheBackend() throws {
        let proxy = try EmbeddedProxy()
        try proxy.send("GET /large HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try proxy.backendReceived().hasPrefix("GET /large HTTP/1.1\r\n"))
        proxy.setClientWritable(false)
        try proxy.respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")
        #expect(try proxy.received() == "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")
        let reads = proxy.backendReads.count
        // The read a channel with `autoRead` asks for after each read burst.
        proxy.backend.read()
        proxy.backend.read()
        #expect(proxy.backendReads.count == reads, "the backend was read while the client could not take more")
        proxy.setClientWritable(true)
        #expect(proxy.backendReads.count == reads + 1)
        try proxy.respond("56789")
        #expect(try proxy.received() == "56789")
        proxy.backend.read()
        #expect(proxy.backendReads.count == reads + 2)
        // The response ended where its framing says: the connection is back in the pool.
        #expect(proxy.pool.takeIdle(proxy.target) === proxy.upstream)
        #expect(proxy.client.isActive)
    }

    /// A backend that does not read the request body holds back the client: what the client
    /// sent is passed on, but the client connection's next read waits until the backend
    /// connection drains.
    @Test func stalledBackendHoldsBackTheClient() throws {
        let proxy = try EmbeddedProxy()
        try proxy.send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
        let forwarded = try proxy.backendReceived()
        #expect(forwarded.hasPrefix("PUT /upload HTTP/1.1\r\n"))
        #expect(forwarded.hasSuffix("\r\n\r\n01234"))
        proxy.setBackendWritable(false)
        let reads = proxy.clientReads.count
        proxy.client.read()
        proxy.client.read()
        #expect(proxy.clientReads.count == reads, "the client was read while the backend could not take more")
        proxy.setBackendWritable(true)
        #expect(proxy.clientReads.count == reads + 1)
        try proxy.send("56789")
        #expect(try proxy.backendReceived() == "56789")
        proxy.client.read()
        #expect(proxy.clientReads.count == reads + 2)
        try proxy.respond("HTTP/1.1 204 No Content\r\n\r\n")
        #expect(try proxy.received() == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    /// After its answer a closing connection shuts its output and goes on reading, discarding
    /// what the client still sends, for ``ProxyHandler/lingerTimeout``.
    @Test func closingConnectionLingers() throws {
        let proxy = try EmbeddedProxy()
        try proxy.send("GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let answered = proxy.loop.now
        #expect(try proxy.received() == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        #expect(proxy.clientOutput.isShut)
        #expect(proxy.client.isActive)
        let reads = proxy.clientReads.count
        proxy.client.read()
        #expect(proxy.clientReads.count == reads + 1)
        try proxy.send("GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try proxy.received() == "")
        proxy.expectClientClosed(at: answered + ProxyHandler.lingerTimeout)
    }

    /// Lingering is for the client to read the answer before the connection goes: once it has
    /// closed its side there is nothing to wait for.
    @Test func lingeringEndsWhenTheClientClosesItsSide() throws {
        let proxy = try EmbeddedProxy()
        try proxy.send("GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(try proxy.received() == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        #expect(proxy.clientOutput.isShut)
        #expect(proxy.client.isActive)
        proxy.client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!proxy.client.isActive)
    }
}

/// A client connection through ``ClientPipeline/configureHTTP1(_:runtime:scheme:)``, its
/// routing table with one online backend, ``target``, and one idle connection to it,
/// ``upstream``, in the loop's pool for the handler to take instead of connecting.
private final class EmbeddedProxy {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let backend: EmbeddedChannel
    let target: Backend
    let upstream: UpstreamHandler
    let pool: UpstreamPool
    let clientReads = ReadCounter()
    let clientOutput = OutputShutdown()
    let backendReads = ReadCounter()

    init() throws {
        let endpoint = BackendEndpoint(scheme: .http, host: "127.0.0.1", port: 1)
        let metrics = BackendMetrics(site: "site1", backend: endpoint.description, factory: NOOPMetricsHandler.instance)
        target = Backend(key: BackendKey(site: "site1", endpoint: endpoint), metrics: metrics, now: loop.now)
        target.setOnline(true, now: loop.now)
        let routing = Routing(
            sites: [Routing.Site(name: "site1", backends: [target])],
            policy: .least,
            retryAttempts: 0,
            upstream: UpstreamSettings(
                connectTimeout: .seconds(1),
                idleTimeout: .seconds(15),
                maxIdlePerBackend: 2,
                responseTimeout: .seconds(60),
                tlsContext: nil
            ),
            retryAfterSeconds: 5,
            trace: nil,
            limits: ConnectionLimits(
                maxHeaderBytes: 65_536,
                headerReadTimeout: ProxyHandlerTests.headerReadTimeout,
                idleTimeout: ProxyHandlerTests.idleTimeout,
                maxConnections: 10
            )
        )
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let runtime = ProxyRuntime(
            routing: routing,
            health: HealthChecker(eventLoop: loop, logger: logger),
            logger: logger,
            metricsFactory: NOOPMetricsHandler.instance,
            traceSink: StandardErrorTraceSink()
        )
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)

        upstream = UpstreamHandler(backend: target, errors: runtime.pools.errors)
        backend = EmbeddedChannel(handler: upstream, loop: loop)
        try backend.pipeline.syncOperations.addHandler(backendReads, position: .first)
        try backend.connect(to: address).wait()
        pool = runtime.pools.pool(for: loop)
        pool.release(upstream, settings: routing.upstream)

        client = EmbeddedChannel(loop: loop)
        try client.pipeline.syncOperations.addHandlers([clientReads, clientOutput])
        try ClientPipeline.configureHTTP1(client, runtime: runtime, tables: runtime.main, scheme: "http")
        try client.connect(to: address).wait()
    }

    /// Closes both channels and cancels the timers still scheduled, which an
    /// `EmbeddedEventLoop` refuses to be freed with.
    deinit {
        _ = try? client.finish(acceptAlreadyClosed: true)
        _ = try? backend.finish(acceptAlreadyClosed: true)
    }

    /// Bytes from the client, in one read.
    func send(_ bytes: ByteBuffer) throws {
        try client.writeInbound(bytes)
    }

    func send(_ text: String) throws {
        try send(ByteBuffer(string: text))
    }

    /// Bytes from the backend, in one read.
    func respond(_ text: String) throws {
        try backend.writeInbound(ByteBuffer(string: text))
    }

    /// What the proxy wrote to the client since last asked.
    func received() throws -> String {
        try Self.written(on: client)
    }

    /// What the proxy wrote to the backend since last asked.
    func backendReceived() throws -> String {
        try Self.written(on: backend)
    }

    private static func written(on channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    /// Advances the clock to `deadline`, checking that the client connection is still open a
    /// nanosecond before it and closed at it.
    func expectClientClosed(at deadline: NIODeadline, sourceLocation: SourceLocation = #_sourceLocation) {
        loop.advanceTime(to: deadline - .nanoseconds(1))
        #expect(client.isActive, "closed before its deadline", sourceLocation: sourceLocation)
        loop.advanceTime(to: deadline)
        #expect(!client.isActive, "still open at its deadline", sourceLocation: sourceLocation)
    }

    func setClientWritable(_ isWritable: Bool) {
        client.isWritable = isWritable
        client.pipeline.fireChannelWritabilityChanged()
    }

    func setBackendWritable(_ isWritable: Bool) {
        backend.isWritable = isWritable
        backend.pipeline.fireChannelWritabilityChanged()
    }
}

/// Stands in for a socket's half-close, which `EmbeddedChannel` lacks (it closes whole for any
/// mode): shutting the output is recorded and reported done, and the channel stays open.
private final class OutputShutdown: ChannelOutboundHandler {
    typealias OutboundIn = Never
    private(set) var isShut = false

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else {
            context.close(mode: mode, promise: promise)
            return
        }
        isShut = true
        promise?.succeed()
    }
}
