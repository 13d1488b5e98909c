import NIOCore
import NIOHTTP1
import NIOSSL

/// The handlers of an accepted client connection.
enum ClientPipeline {
    static func configure(_ channel: any Channel, runtime: ProxyRuntime, tlsContext: NIOSSLContext?) throws {
        let pipeline = channel.pipeline.syncOperations
        if let tlsContext {
            try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext))
        }
        try configureHTTP1(pipeline, runtime: runtime, scheme: tlsContext == nil ? "http" : "https")
    }

    /// HTTP/1.1 with NIO's pipelining support (one request at a time; reads held while a
    /// response is pending) and its 400-and-close answer to unparseable requests.
    ///
    /// Framing headers of responses are set by ``ForwardedRequest``, not the encoder; the
    /// decoder keeps bytes read past an upgrade request so a tunnel loses none; header size is
    /// limited by `limits.max_header_bytes`.
    static func configureHTTP1(_ pipeline: ChannelPipeline.SynchronousOperations, runtime: ProxyRuntime, scheme: String) throws {
        let limits = runtime.routing.limits
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        var encoderConfiguration = HTTPResponseEncoder.Configuration()
        encoderConfiguration.automaticallySetFramingHeaders = false
        try pipeline.addHandler(HTTPResponseEncoder(configuration: encoderConfiguration))
        try pipeline.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: decoderLimits))
        )
        try pipeline.addHandler(HTTPServerPipelineHandler())
        try pipeline.addHandler(HTTPServerProtocolErrorHandler())
        try pipeline.addHandler(ProxyHandler(runtime: runtime, scheme: scheme, supportsUpgrade: true))
    }
}
