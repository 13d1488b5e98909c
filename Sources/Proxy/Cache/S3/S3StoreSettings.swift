import NIOCore
import ObjectStore

/// The cache role's `store.s3` section (and sidekick's `SIDEKICK_CACHE_ENDPOINT`, `_ACCESS_KEY`, `_SECRET_KEY`,
/// `_BUCKET`, `_HEALTH_DURATION`), as the S3 store takes it.
public struct S3StoreSettings: Sendable, Equatable {
    /// `http(s)://host[:port]`, no path.
    public var endpoint: String
    public var bucket: String
    public var region: String
    public var accessKey: String
    public var secretKey: String
    /// PEM CA certificates to verify an https endpoint with instead of the system roots.
    public var caFile: String?
    /// A path on the endpoint that must answer 2xx for the store to count as up (MinIO: `/minio/health/ready`),
    /// checked besides the bucket itself.
    public var healthPath: String?
    /// How often the role checks health (the store checks when asked).
    public var healthInterval: Duration
    /// Object keys are `keyPrefix` + 64 hex digits; empty by default, as sidekick names its objects.
    public var keyPrefix: String
    /// To the response head of one store request; the cache adds its own bound around every store call.
    public var requestTimeout: Duration

    public init(
        endpoint: String, bucket: String, region: String = "us-east-1", accessKey: String, secretKey: String,
        caFile: String? = nil, healthPath: String? = nil, healthInterval: Duration = .seconds(60), keyPrefix: String = "",
        requestTimeout: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.caFile = caFile
        self.healthPath = healthPath
        self.healthInterval = healthInterval
        self.keyPrefix = keyPrefix
        self.requestTimeout = requestTimeout
    }

    /// The client configuration; fails with a one-line reason on a bad endpoint.
    public func clientConfiguration() throws(S3Error) -> S3Configuration {
        guard !bucket.isEmpty, !bucket.contains("/") else { throw .invalidRequest(reason: "bucket \"\(bucket)\" is not a bucket name") }
        guard !accessKey.isEmpty, !secretKey.isEmpty else { throw .invalidRequest(reason: "access_key and secret_key must not be empty") }
        let (seconds, attoseconds) = requestTimeout.components
        let timeout = TimeAmount.nanoseconds(max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        return S3Configuration(
            endpoint: try S3Endpoint(endpoint), region: region,
            credentials: SigV4Credentials(accessKeyID: accessKey, secretAccessKey: secretKey), caFile: caFile,
            connectTimeout: min(timeout, .seconds(5)), requestTimeout: timeout, readTimeout: timeout)
    }
}

extension S3StoreSettings: CustomStringConvertible {
    /// Without the secret.
    public var description: String { "s3 \(endpoint) bucket \(bucket) region \(region) key \(accessKey)" }
}
