/// What went wrong with one S3 request, with the operation and the bucket/key it was for; a service error
/// carries S3's own `Code` and `Message` from the XML error body (S3 API Reference, "Error responses"), so
/// `403 SignatureDoesNotMatch` and `403 InvalidAccessKeyId` read as such in logs and status.
public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// S3 answered with an error status. HEAD answers have no body: their `code` is the status's name.
    case service(operation: String, resource: String, status: Int, code: String, message: String, requestID: String?)
    /// No answer within the request timeout (to the response head) or the read timeout (between body parts).
    case timeout(operation: String, resource: String)
    /// The connection failed or broke (refused, reset, TLS verification, a body shorter than announced).
    case transport(operation: String, resource: String, reason: String)
    /// S3 answered, but not as the API says (an unparsable XML body, a missing header).
    case invalidResponse(operation: String, resource: String, reason: String)
    /// An upload's body did not have the length it was begun with; nothing was stored.
    case bodyLength(operation: String, resource: String, expected: Int64, actual: Int64)
    /// The request could not be made as asked (an invalid key or metadata name, a bad endpoint).
    case invalidRequest(reason: String)

    /// S3's error code, for service errors.
    public var code: String? {
        if case .service(_, _, _, let code, _, _) = self { return code }
        return nil
    }

    /// The HTTP status, for service errors.
    public var status: Int? {
        if case .service(_, _, let status, _, _, _) = self { return status }
        return nil
    }

    /// A failure worth one more try after a pause: S3's 500 `InternalError`, 502, 503 `SlowDown` and 504, and a
    /// request that timed out, as the AWS SDKs' standard retry mode treats them. A 4xx never is; nor, unlike in the
    /// SDKs, is a broken or refused connection, which here means the store is down (its health check says so).
    public var isTransient: Bool {
        switch self {
        case .service(_, _, let status, _, _, _):
            return [500, 502, 503, 504].contains(status)
        case .timeout:
            return true
        case .transport, .invalidResponse, .bodyLength, .invalidRequest:
            return false
        }
    }

    public var description: String {
        switch self {
        case .service(let operation, let resource, let status, let code, let message, let requestID):
            let id = requestID.map { " (request id \($0))" } ?? ""
            return "S3 \(operation) \(resource): \(status) \(code)\(message.isEmpty ? "" : ": \(message)")\(id)"
        case .timeout(let operation, let resource):
            return "S3 \(operation) \(resource): timed out"
        case .transport(let operation, let resource, let reason):
            return "S3 \(operation) \(resource): \(reason)"
        case .invalidResponse(let operation, let resource, let reason):
            return "S3 \(operation) \(resource): invalid response: \(reason)"
        case .bodyLength(let operation, let resource, let expected, let actual):
            return "S3 \(operation) \(resource): body of \(actual) bytes, expected \(expected); nothing stored"
        case .invalidRequest(let reason):
            return "S3: \(reason)"
        }
    }
}
