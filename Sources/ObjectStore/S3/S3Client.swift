import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// An S3 client for S3-compatible stores (AWS S3, MinIO, SeaweedFS, moto): path-style addressing, every request
/// signed with AWS Signature Version 4 (`SigV4Signer`) into the `Authorization` header, bodies streamed both ways.
///
/// It runs on async-http-client over the daemon's one `EventLoopGroup`, passed in. Request bodies of a known length
/// go as one `PUT` with `Content-Length` and `x-amz-content-sha256: UNSIGNED-PAYLOAD` (S3 API Reference,
/// "Authenticating Requests: Using the Authorization Header"; hashing a body first would need it whole), pulled
/// from the caller's async sequence as the connection can take them; bodies of unknown length go as a multipart
/// upload (`S3Client+Multipart.swift`). Small bodies the client writes itself (multipart completion, bucket
/// configuration) are hashed and signed.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let http: HTTPClient
    let signer: SigV4Signer
    let now: @Sendable () -> SigV4Timestamp
    let logger: Logger

    /// The largest error or listing body read into memory.
    static let maximumDocumentSize = 8 << 20

    /// - Parameter now: the clock the signatures' `X-Amz-Date` is taken from (tests pass a skewed one).
    public init(
        configuration: S3Configuration, eventLoopGroup: any EventLoopGroup, logger: Logger = Logger(label: "outrider.s3"),
        now: @escaping @Sendable () -> SigV4Timestamp = S3Client.systemTime
    ) throws(S3Error) {
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
        self.now = now
        self.logger = logger
        var tls: TLSConfiguration?
        if configuration.endpoint.isTLS {
            var client = TLSConfiguration.makeClientConfiguration()
            if let caFile = configuration.caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw .invalidRequest(reason: "CA file \(caFile) is not readable")
                }
                client.trustRoots = .file(caFile)
            }
            tls = client
        }
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: configuration.connectTimeout, read: configuration.readTimeout),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConnections),
            decompression: .disabled)
        http.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: http, backgroundActivityLogger: logger)
    }

    @Sendable public static func systemTime() -> SigV4Timestamp {
        SigV4Timestamp(secondsSince1970: Int64(Date().timeIntervalSince1970.rounded(.down)))
    }

    /// Closes the connections. Call once, before the event loop group shuts down.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: - Requests

    /// One request, signed: the method, bucket, key (nil for bucket requests), query, the header fields to sign
    /// (`Host`, `X-Amz-Date`, `x-amz-content-sha256`, `Authorization` added here) and the body.
    struct Call {
        let operation: String
        let method: HTTPMethod
        let bucket: String
        let key: String?
        var query: [SignableRequest.QueryItem] = []
        var headers: [SignableRequest.Header] = []
        var body: HTTPClientRequest.Body?
        var payloadHash = SigV4Signer.unsignedPayload

        var resource: String { key.map { "\(bucket)/\($0)" } ?? bucket }
    }

    /// Sends `call` and returns the response when its status is one of `accepting`; any other status becomes
    /// `S3Error.service` with the XML error body's `Code` and `Message`.
    func send(_ call: Call, accepting: Set<Int> = [200]) async throws(S3Error) -> HTTPClientResponse {
        guard !call.bucket.isEmpty, !call.bucket.contains("/") else {
            throw .invalidRequest(reason: "invalid bucket name \"\(call.bucket)\"")
        }
        if let key = call.key, key.isEmpty {
            throw .invalidRequest(reason: "empty object key in bucket \(call.bucket)")
        }
        let signable = signed(call, at: now())
        var request = HTTPClientRequest(url: configuration.endpoint.base + signable.target)
        request.method = call.method
        for header in signable.headers { request.headers.add(name: header.name, value: header.value) }
        if let body = call.body { request.body = body }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: configuration.requestTimeout, logger: logger)
        } catch {
            throw Self.translate(error, call.operation, call.resource)
        }
        if accepting.contains(Int(response.status.code)) { return response }
        throw await Self.serviceError(response, call)
    }

    /// The request `call` makes, signed at `time`: path-style `/bucket/key`, `Host` first.
    func signed(_ call: Call, at time: SigV4Timestamp) -> SignableRequest {
        var signable = SignableRequest(
            method: call.method.rawValue, path: "/" + call.bucket + (call.key.map { "/" + $0 } ?? ""),
            query: call.query, headers: [.init("Host", configuration.endpoint.hostField)] + call.headers)
        signer.signHeaders(&signable, payloadHash: call.payloadHash, at: time, addingContentHash: true)
        return signable
    }

    /// S3's error body (`<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`) read into an
    /// `S3Error`; a response without one (HEAD, some proxies) gets the status's name as its code.
    static func serviceError(_ response: HTTPClientResponse, _ call: Call) async -> S3Error {
        let status = Int(response.status.code)
        let headerID = response.headers.first(name: "x-amz-request-id")
        var code = response.status.reasonPhrase.replacingOccurrences(of: " ", with: "")
        var message = ""
        var requestID = headerID
        if call.method != .HEAD, let body = try? await response.body.collect(upTo: 64 << 10),
            let document = try? XMLTree.parse(Array(buffer: body)), document.name == "Error"
        {
            code = document.text(of: "Code") ?? code
            message = document.text(of: "Message") ?? ""
            requestID = document.text(of: "RequestId") ?? requestID
        } else if let minioCode = response.headers.first(name: "x-minio-error-code") {
            code = minioCode
            message = response.headers.first(name: "x-minio-error-desc") ?? ""
        }
        return .service(operation: call.operation, resource: call.resource, status: status, code: code, message: message, requestID: requestID)
    }

    static func translate(_ error: any Error, _ operation: String, _ resource: String) -> S3Error {
        if let error = error as? S3Error { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return .timeout(operation: operation, resource: resource)
            default:
                return .transport(operation: operation, resource: resource, reason: "\(error)")
            }
        }
        if error is CancellationError { return .transport(operation: operation, resource: resource, reason: "cancelled") }
        return .transport(operation: operation, resource: resource, reason: "\(error)")
    }

    /// A whole small body (an XML document), bounded.
    static func document(_ response: HTTPClientResponse, _ call: Call) async throws(S3Error) -> XMLTree {
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: maximumDocumentSize)
        } catch {
            throw translate(error, call.operation, call.resource)
        }
        do throws(XMLTree.ParseError) {
            let document = try XMLTree.parse(Array(buffer: body))
            return document
        } catch {
            throw .invalidResponse(operation: call.operation, resource: call.resource, reason: error.description)
        }
    }

    /// The document of a response whose status says success, failed when it is an S3 `Error` document: a
    /// `CopyObject`, `CompleteMultipartUpload` or `DeleteObjects` can fail after its 200 has been sent.
    static func successDocument(_ response: HTTPClientResponse, _ call: Call) async throws(S3Error) -> XMLTree {
        let document = try await document(response, call)
        if document.name == "Error" {
            throw .service(
                operation: call.operation, resource: call.resource, status: 200, code: document.text(of: "Code") ?? "InternalError",
                message: document.text(of: "Message") ?? "", requestID: document.text(of: "RequestId"))
        }
        return document
    }

    /// The body of `bytes`, signed with its hash.
    static func signedBody(_ bytes: [UInt8], into call: inout Call) {
        call.payloadHash = SigV4Signer.payloadHash(bytes)
        call.body = .bytes(ByteBuffer(bytes: bytes))
    }
}
