import Crypto

/// AWS Signature Version 4 (AWS SigV4 documentation: "Create a canonical request", "Create a string to sign",
/// "Calculate the signature"), for the `Authorization` header and for presigned (query-string) requests.
///
///     StringToSign = "AWS4-HMAC-SHA256" \n X-Amz-Date \n Day/Region/Service/aws4_request \n Hex(SHA256(CanonicalRequest))
///     SigningKey   = HMAC(HMAC(HMAC(HMAC("AWS4" + Secret, Day), Region), Service), "aws4_request")
///     Signature    = Hex(HMAC(SigningKey, StringToSign))
///
/// A pure value: the caller passes the time. Every header field present when signing is signed, so the caller
/// adds the fields it wants covered (S3: `host`, the `x-amz-*` fields, `content-type`, `range`, …) first and the
/// ones an HTTP client may rewrite (`content-length`, `user-agent`) afterwards.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash of a body that is not hashed (S3 only; the body is then protected by TLS alone).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// Hex SHA-256 of the empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public var credentials: SigV4Credentials
    public var region: String
    public var service: String

    public init(credentials: SigV4Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// What one signing produced, for tests and for error messages that show what was signed.
    public struct Signature: Sendable, Equatable {
        public let canonicalRequest: CanonicalRequest
        public let stringToSign: String
        /// Lower-case hex.
        public let signature: String
    }

    /// Hex SHA-256 of `bytes`, for `x-amz-content-sha256` and the canonical request's last line.
    public static func payloadHash(_ bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).hexString
    }

    public func scope(_ time: SigV4Timestamp) -> String {
        "\(time.day)/\(region)/\(service)/aws4_request"
    }

    /// `kSigning`, derived from the secret for one day, region and service.
    public func signingKey(_ time: SigV4Timestamp) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
        }
        let secret = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        return hmac(hmac(hmac(hmac(secret, time.day), region), service), "aws4_request")
    }

    public func stringToSign(_ canonical: CanonicalRequest, at time: SigV4Timestamp) -> String {
        [Self.algorithm, time.amzDate, scope(time), canonical.hash].joined(separator: "\n")
    }

    public func signature(of canonical: CanonicalRequest, at time: SigV4Timestamp) -> Signature {
        let text = stringToSign(canonical, at: time)
        let code = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: signingKey(time))
        return Signature(canonicalRequest: canonical, stringToSign: text, signature: Array(code).hexString)
    }

    /// Signs into the `Authorization` header: adds `X-Amz-Date`, `X-Amz-Security-Token` when there is a session
    /// token (signed, or added after signing when `signingSessionToken` is false, as STS's "header after" form),
    /// `x-amz-content-sha256` when `addingContentHash` (S3 requires it on every request), then `Authorization`.
    @discardableResult
    public func signHeaders(
        _ request: inout SignableRequest, payloadHash: String, at time: SigV4Timestamp,
        addingContentHash: Bool, normalizingPath: Bool = false, signingSessionToken: Bool = true
    ) -> Signature {
        request.setHeader("X-Amz-Date", time.amzDate)
        if let token = credentials.sessionToken, signingSessionToken {
            request.setHeader("X-Amz-Security-Token", token)
        }
        if addingContentHash {
            request.setHeader("x-amz-content-sha256", payloadHash)
        }
        let canonical = CanonicalRequest(request, payloadHash: payloadHash, normalizingPath: normalizingPath)
        let result = signature(of: canonical, at: time)
        if let token = credentials.sessionToken, !signingSessionToken {
            request.setHeader("X-Amz-Security-Token", token)
        }
        request.setHeader(
            "Authorization",
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(time)), SignedHeaders=\(canonical.signedHeaders), Signature=\(result.signature)"
        )
        return result
    }

    /// Presigns into the query string (AWS SigV4 documentation, "Authenticating requests: using query
    /// parameters"): adds `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-SignedHeaders` (and `X-Amz-Security-Token`) before signing, `X-Amz-Signature` after. S3 presigned
    /// URLs use `UNSIGNED-PAYLOAD` as `payloadHash`.
    @discardableResult
    public func presign(
        _ request: inout SignableRequest, payloadHash: String, at time: SigV4Timestamp, expiresInSeconds: Int,
        normalizingPath: Bool = false, signingSessionToken: Bool = true
    ) -> Signature {
        let signedHeaders = CanonicalRequest(request, payloadHash: payloadHash, normalizingPath: normalizingPath).signedHeaders
        request.query.append(.init("X-Amz-Algorithm", Self.algorithm))
        request.query.append(.init("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(time))"))
        request.query.append(.init("X-Amz-Date", time.amzDate))
        request.query.append(.init("X-Amz-Expires", String(expiresInSeconds)))
        request.query.append(.init("X-Amz-SignedHeaders", signedHeaders))
        if let token = credentials.sessionToken, signingSessionToken {
            request.query.append(.init("X-Amz-Security-Token", token))
        }
        let canonical = CanonicalRequest(request, payloadHash: payloadHash, normalizingPath: normalizingPath)
        let result = signature(of: canonical, at: time)
        request.query.append(.init("X-Amz-Signature", result.signature))
        if let token = credentials.sessionToken, !signingSessionToken {
            request.query.append(.init("X-Amz-Security-Token", token))
        }
        return result
    }
}
