/// An access key pair, with the session token of temporary (STS) credentials when there is one.
public struct SigV4Credentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension SigV4Credentials: CustomStringConvertible {
    /// Never the secret (nor the token): these values end up in logs.
    public var description: String { "SigV4Credentials(\(accessKeyID), secret: <redacted>)" }
}
