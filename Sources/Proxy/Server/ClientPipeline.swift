import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import NIOTLS

/// The handlers of an accepted client connection.
enum ClientPipeline {
    /// Plain HTTP/1.1, or TLS with ALPN choosing HTTP/2 or HTTP/1.1 (RFC 7301; RFC 9113 3.2).
    static func configure(_ channel: any Channel, runtime: ProxyRuntime, tables: RoutingInForce, certificate: ServerCertificate?) throws {
        let pipeline = channel.pipeline.syncOperations
        guard let certificate else {
            try configureHTTP1(channel, runtime: runtime, tables: tables, scheme: "http")
            return
        }
        try pipeline.addHandler(NIOSSLServerHandler(context: certificate.context))
        let negotiation = ApplicationProtocolNegotiationHandler { result, channel in
            channel.eventLoop.makeCompletedFuture {
                switch result {
                case .negotiated("h2"):
                    try configureHTTP2(channel.pipeline.syncOperations, runtime: runtime, tables: tables)
                default:
                    try configureHTTP1(channel, runtime: runtime, tables: tables, scheme: "https")
                }
            }
        }
        try pipeline.addHandler(negotiation)
    }

    /// HTTP/1.1, one request at a time: ``RequestReader`` parses requests and hands them to
    /// ``ProxyHandler``, which queues pipelined requests, answers unparseable ones with 400 and
    /// closes, and encodes responses itself (see ``ForwardedRequest``), so there is no response
    /// encoder.
    ///
    /// The reader keeps bytes read past a request to switch protocols so a tunnel loses none;
    /// a request head (request line and fields) is limited to `limits.max_header_bytes`.
    static func configureHTTP1(_ channel: any Channel, runtime: ProxyRuntime, tables: RoutingInForce, scheme: String) throws {
        let pipeline = channel.pipeline.syncOperations
        let proxy = ProxyHandler(runtime: runtime, tables: tables, channel: channel, scheme: scheme, clientProtocol: .http1)
        try pipeline.addHandler(RequestReader(proxy: proxy, maxHeadBytes: runtime.routing.limits.maxHeaderBytes))
        try pipeline.addHandler(proxy)
    }

    /// HTTP/2: each stream is translated to HTTP/1 parts and proxied like an HTTP/1.1 request
    /// to the HTTP/1.1 backends. Flow control windows give each stream the same backpressure
    /// as a TCP connection. NIO's connection management handler closes idle connections after
    /// `limits.idle_timeout` and, on shutdown, sends GOAWAY and closes once streams are done
    /// (RFC 9113 6.8).
    static func configureHTTP2(_ pipeline: ChannelPipeline.SynchronousOperations, runtime: ProxyRuntime, tables: RoutingInForce) throws {
        let limits = runtime.routing.limits
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: pipeline.eventLoop,
            configuration: .init(maxIdleTime: limits.idleTimeout, maxAge: nil, maxGraceTime: nil, keepalive: nil)
        )
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.maximumRecentlyResetStreams = 64
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: connection,
            streamConfiguration: NIOHTTP2Handler.StreamConfiguration(),
            streamDelegate: management.http2StreamDelegate
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let streamPipeline = stream.pipeline.syncOperations
                try streamPipeline.addHandler(HTTP2RequestValidator())
                try streamPipeline.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                let proxy = ProxyHandler(runtime: runtime, tables: tables, channel: stream, scheme: "https", clientProtocol: .http2Stream)
                try streamPipeline.addHandler(proxy)
            }
        }
        try pipeline.addHandler(management)
    }
}
