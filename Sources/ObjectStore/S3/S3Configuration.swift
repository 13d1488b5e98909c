import NIOCore

/// How to reach one S3-compatible store. The same settings as the cache role's `store.s3` section and
/// sidekick's `SIDEKICK_CACHE_ENDPOINT`, `_ACCESS_KEY`, `_SECRET_KEY`.
public struct S3Configuration: Sendable {
    public var endpoint: S3Endpoint
    /// The signing region (`us-east-1` for MinIO, SeaweedFS and moto unless configured otherwise).
    public var region: String
    public var credentials: SigV4Credentials
    /// A PEM file of CA certificates to verify the server with instead of the system roots (https only).
    public var caFile: String?
    /// To establish a connection (TCP and TLS).
    public var connectTimeout: TimeAmount
    /// From sending a request to receiving its response head.
    public var requestTimeout: TimeAmount
    /// Between two parts of a response body (an idle read).
    public var readTimeout: TimeAmount
    /// Connections kept per event loop.
    public var maximumConnections: Int

    public init(
        endpoint: S3Endpoint, region: String = "us-east-1", credentials: SigV4Credentials, caFile: String? = nil,
        connectTimeout: TimeAmount = .seconds(5), requestTimeout: TimeAmount = .seconds(30),
        readTimeout: TimeAmount = .seconds(30), maximumConnections: Int = 64
    ) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.readTimeout = readTimeout
        self.maximumConnections = maximumConnections
    }
}
