import TestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Testing

@testable import Proxy

@Suite struct ProxyTLSTests {
    private func clientContext(_ certificates: TestCertificates, alpn: [String] = ["http/1.1"]) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(certificates.caPath)
        configuration.applicationProtocols = alpn
        return try NIOSSLContext(configuration: configuration)
    }

    private func tlsProxy(
        _ certificates: TestCertificates,
        backends: [TestBackend],
        encryptedKey: Bool = false,
        reloadInterval: Duration = .seconds(10)
    ) async throws -> ProxyHarness {
        var configuration = ProxyHarness.configuration(sites: [backends])
        let tls = ProxyConfiguration.ServerTLS(
            certificatePath: certificates.certificatePath,
            keyPath: encryptedKey ? certificates.encryptedKeyPath : certificates.keyPath,
            keyPassword: encryptedKey ? TestCertificates.keyPassword : nil,
            reloadInterval: reloadInterval
        )
        configuration.listeners = [.init(host: "127.0.0.1", port: 0, tls: tls)]
        return try await ProxyHarness.start(configuration)
    }

    @Test func terminatesTLSForHTTP1() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await tlsProxy(certificates, backends: [backend])
        let client = try await TestClient.connect(port: proxy.port, tls: try clientContext(certificates))
        let response = try await client.send(.GET, "/")
        #expect(response.status == .ok)
        #expect(response.text.contains("x-forwarded-proto=https"))
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func encryptedKeyWithPassword() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await tlsProxy(certificates, backends: [backend], encryptedKey: true)
        let client = try await TestClient.connect(port: proxy.port, tls: try clientContext(certificates))
        #expect(try await client.send(.GET, "/").status == .ok)
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func wrongKeyPasswordFailsStart() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        var configuration = ProxyHarness.configuration(sites: [])
        configuration.sites = [.init(pools: ["http://127.0.0.1:1"])]
        configuration.listeners = [
            .init(
                host: "127.0.0.1",
                port: 0,
                tls: .init(certificatePath: certificates.certificatePath, keyPath: certificates.encryptedKeyPath, keyPassword: "wrong")
            )
        ]
        await #expect {
            _ = try await ProxyHarness.start(configuration, waitForBackends: false)
        } throws: { error in
            if case ProxyServerError.tls = error { return true }
            return false
        }
    }

    @Test func reloadsChangedCertificate() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await tlsProxy(certificates, backends: [backend], reloadInterval: .milliseconds(50))
        let context = try clientContext(certificates)
        func commonName() async throws -> String? {
            let client = try await TestClient.connect(port: proxy.port, tls: context)
            defer { Task { await client.close() } }
            _ = try await client.send(.GET, "/")
            return try await client.peerCertificate()?.description
        }
        #expect(try await commonName()?.contains("first") == true)
        try certificates.issue(name: "server", commonName: "second")
        try await eventually { try await commonName()?.contains("second") == true }
        await proxy.stop()
        await backend.stop()
    }

    @Test func http2ClientsAreProxiedToHTTP1Backends() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await tlsProxy(certificates, backends: [backend])
        let context = try clientContext(certificates, alpn: ["h2"])
        let responses = try await HTTP2TestClient.get(port: proxy.port, tls: context, paths: ["/one", "/large?bytes=200000", "/three"])
        #expect(responses.map(\.status) == [.ok, .ok, .ok])
        #expect(responses[0].text.hasPrefix("a"))
        #expect(responses[0].text.contains("x-forwarded-proto=https"))
        #expect(responses[0].text.contains("host=proxy.test"))
        #expect(responses[1].body.readableBytes == 200_000)
        #expect(backend.requests.map(\.uri).sorted() == ["/large?bytes=200000", "/one", "/three"])
        await proxy.stop()
        await backend.stop()
    }

    @Test func shutdownClosesIdleHTTP2Connections() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let backend = try await TestBackend.start(name: "a")
        let proxy = try await tlsProxy(certificates, backends: [backend])
        let client = try await HTTP2TestClient.connect(port: proxy.port, tls: try clientContext(certificates, alpn: ["h2"]))
        #expect(try await client.get(["/"]).map(\.status) == [.ok])
        let shutdown = Task { await proxy.server.shutdown(grace: .seconds(120)) }
        // GOAWAY and close well before the grace period would force it.
        try await eventually { !client.channel.isActive }
        await shutdown.value
        await backend.stop()
    }

    @Test(arguments: [true, false])
    func clientCertificateForBackendsThatRequireOne(presentCertificate: Bool) async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        try certificates.issue(name: "client", commonName: "outrider-proxy")
        var serverConfiguration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.keyPath, format: .pem))
        )
        serverConfiguration.certificateVerification = .noHostnameVerification
        serverConfiguration.trustRoots = .file(certificates.caPath)
        let backend = try await TestBackend.start(name: "mtls", tls: try NIOSSLContext(configuration: serverConfiguration))
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        configuration.upstream.tls.caPath = certificates.caPath
        if presentCertificate {
            configuration.upstream.tls.certificatePath = certificates.path("client.pem")
            configuration.upstream.tls.keyPath = certificates.path("client.key")
        }
        let proxy = try await ProxyHarness.start(configuration, waitForBackends: presentCertificate)
        if presentCertificate {
            #expect(try await TestClient.get(port: proxy.port, "/").text.hasPrefix("mtls"))
        } else {
            try await eventually {
                let failures = try? proxy.metrics.expectCounter("health_check_failures_total", [("site", "site1"), ("backend", backend.url)])
                return (failures?.totalValue ?? 0) >= 2
            }
            #expect(proxy.onlineCount() == 0)
        }
        await proxy.stop()
        await backend.stop()
    }

    @Test(arguments: ["ca", "insecure", "untrusted"])
    func httpsBackends(mode: String) async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let serverTLS = try ProxyConfiguration.ServerTLS(certificatePath: certificates.certificatePath, keyPath: certificates.keyPath)
            .makeContext()
        let backend = try await TestBackend.start(name: "secure", tls: serverTLS)
        var configuration = ProxyHarness.configuration(sites: [[backend]])
        switch mode {
        case "ca": configuration.upstream.tls.caPath = certificates.caPath
        case "insecure": configuration.upstream.tls.insecure = true
        default: break
        }
        let proxy = try await ProxyHarness.start(configuration, waitForBackends: mode != "untrusted")
        if mode == "untrusted" {
            // The backend's certificate is not trusted: its health checks fail, it stays offline.
            try await eventually {
                let failures = try? proxy.metrics.expectCounter("health_check_failures_total", [("site", "site1"), ("backend", backend.url)])
                return (failures?.totalValue ?? 0) >= 2
            }
            #expect(proxy.onlineCount() == 0)
            #expect(try await TestClient.get(port: proxy.port, "/").status == .badGateway)
        } else {
            let response = try await TestClient.get(port: proxy.port, "/")
            #expect(response.status == .ok)
            #expect(response.text.hasPrefix("secure"))
        }
        await proxy.stop()
        await backend.stop()
    }
}

/// An HTTP/2 client over TLS that sends GET requests on concurrent streams of one connection.
final class HTTP2TestClient: Sendable {
    let channel: any Channel
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    /// The HTTP/2 handlers are in the pipeline before the connection is: added after it, they
    /// could miss the proxy's first frames, read while they were not there yet.
    static func connect(port: Int, tls: NIOSSLContext) async throws -> HTTP2TestClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    _ = try pipeline.configureHTTP2Pipeline(
                        mode: .client,
                        connectionConfiguration: .init(),
                        streamConfiguration: .init()
                    ) { $0.eventLoop.makeSucceededVoidFuture() }
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let multiplexer = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self).syncMultiplexer()
        }.get()
        return HTTP2TestClient(channel: channel, multiplexer: multiplexer)
    }

    func get(_ paths: [String]) async throws -> [TestResponse] {
        var futures: [EventLoopFuture<TestResponse>] = []
        for path in paths {
            let promise = channel.eventLoop.makePromise(of: TestResponse.self)
            let multiplexer = self.multiplexer
            let stream = try await channel.eventLoop.flatSubmit {
                multiplexer.createStreamChannel { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                        try stream.pipeline.syncOperations.addHandler(HTTP2ResponseCollector(promise: promise))
                    }
                }
            }.get()
            let head = HTTPRequestHead(version: .http2, method: .GET, uri: path, headers: ["host": "proxy.test"])
            stream.write(HTTPClientRequestPart.head(head), promise: nil)
            stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            futures.append(promise.futureResult)
        }
        var responses: [TestResponse] = []
        for future in futures {
            responses.append(try await future.get())
        }
        return responses
    }

    static func get(port: Int, tls: NIOSSLContext, paths: [String]) async throws -> [TestResponse] {
        let client = try await connect(port: port, tls: tls)
        defer { client.channel.close(promise: nil) }
        return try await client.get(paths)
    }
}

/// Collects one stream's response; fails after 20 s without one, so a stalled stream fails
/// its test instead of holding the run.
private final class HTTP2ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<TestResponse>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var timeout: Scheduled<Void>?

    init(promise: EventLoopPromise<TestResponse>) {
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(20)) { [promise] in
            promise.fail(TimedOut())
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(var buffer): body.writeBuffer(&buffer)
        case .end(let trailers):
            if let head {
                timeout?.cancel()
                promise.succeed(TestResponse(head: head, body: body, trailers: trailers))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        promise.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        timeout?.cancel()
        promise.fail(error)
        context.close(promise: nil)
    }
}
