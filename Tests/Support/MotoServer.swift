import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import ObjectStore

/// A real moto S3 server with signature verification on, started for one test on 127.0.0.1 with an ephemeral
/// port (`Support/moto_server_raw_target.py`, moto's server checking signatures against the request target as
/// sent). While auth is still off, an IAM user with an `s3:*` policy and an access key are created; then
/// `/moto-api/reset-auth` turns verification on, so every later request must be signed with that key.
public final class MotoServer {
    public let process: Process
    public let output: OutputLines
    public let endpoint: S3Endpoint
    public let credentials: SigV4Credentials
    /// The port it listens on, on 127.0.0.1.
    public let port: Int

    /// A certificate for 127.0.0.1 signed by a CA of the test's own, for https.
    public struct TLSFiles: Sendable {
        public let certificate: String
        public let key: String
        public let ca: String
    }

    /// With `tls`, moto serves https with that certificate; the IAM setup trusts `tls.ca`. `port` 0 is an
    /// ephemeral one; another (a server started again where a killed one was) must be free. Without
    /// `verifyingSignatures` no key is made and any signature is accepted (`credentials` are then a placeholder).
    public static func start(tls: TLSFiles? = nil, port requested: Int = 0, verifyingSignatures: Bool = true) async throws -> MotoServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = [launcher, "-H", "127.0.0.1", "-p", String(requested)]
            + (tls.map { ["-s", "-c", $0.certificate, "-k", $0.key] } ?? [])
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = stderr
        try process.run()
        let output = OutputLines(reading: stderr.fileHandleForReading)
        do {
            let scheme = tls == nil ? "http" : "https"
            let line = try await output.first(containing: "Running on \(scheme)://127.0.0.1:", timeout: .seconds(60))
            guard let portText = line.split(separator: ":").last, let port = Int(portText.trimmingCharacters(in: .whitespaces)) else {
                throw TimedOut(what: "no port in moto's line \(line)")
            }
            let endpoint = try S3Endpoint("\(scheme)://127.0.0.1:\(port)")
            let credentials =
                verifyingSignatures
                ? try await createKey(endpoint, ca: tls?.ca) : SigV4Credentials(accessKeyID: "AKIDANY", secretAccessKey: "any")
            return MotoServer(process: process, output: output, endpoint: endpoint, credentials: credentials, port: port)
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
    }

    /// `moto_server_raw_target.py`, beside this file.
    static let launcher = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("moto_server_raw_target.py").path

    /// `python3` from `PATH`; its absence fails the test with what to install.
    static func python() throws -> String {
        for candidate in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(candidate)/python3"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TimedOut(what: "python3 not found on PATH (the S3 tests need python3 with moto[s3]; CI installs them in .ci/run)")
    }

    private init(process: Process, output: OutputLines, endpoint: S3Endpoint, credentials: SigV4Credentials, port: Int) {
        self.process = process
        self.output = output
        self.endpoint = endpoint
        self.credentials = credentials
        self.port = port
    }

    /// moto's IAM Query API while auth is off (any signature; the scope's service `iam` routes it), then
    /// reset-auth (its body must not be a form, or moto answers 500).
    private static func createKey(_ endpoint: S3Endpoint, ca: String?) async throws -> SigV4Credentials {
        var configuration = HTTPClient.Configuration()
        if let ca {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            let credentials = try await createKey(endpoint, http)
            try await http.shutdown()
            return credentials
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private static func createKey(_ endpoint: S3Endpoint, _ http: HTTPClient) async throws -> SigV4Credentials {
        func post(_ body: String, contentType: String = "application/x-www-form-urlencoded", path: String = "/") async throws -> String {
            var request = HTTPClientRequest(url: endpoint.base + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: contentType)
            request.headers.add(name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await http.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            guard response.status == .ok else { throw TimedOut(what: "moto \(path) \(body.prefix(40)): \(response.status) \(text)") }
            return text
        }
        func form(_ pairs: [(String, String)]) -> String {
            pairs.map { "\($0.0)=\(SigV4Encoding.encode($0.1, keepingSlash: false))" }.joined(separator: "&")
        }
        _ = try await post(form([("Action", "CreateUser"), ("Version", "2010-05-08"), ("UserName", "cache")]))
        _ = try await post(form([
            ("Action", "PutUserPolicy"), ("Version", "2010-05-08"), ("UserName", "cache"), ("PolicyName", "s3"),
            ("PolicyDocument", #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#),
        ]))
        let key = try await post(form([("Action", "CreateAccessKey"), ("Version", "2010-05-08"), ("UserName", "cache")]))
        func element(_ name: String) -> String? {
            guard let start = key.range(of: "<\(name)>"), let end = key.range(of: "</\(name)>", range: start.upperBound..<key.endIndex) else { return nil }
            return String(key[start.upperBound..<end.lowerBound])
        }
        guard let id = element("AccessKeyId"), let secret = element("SecretAccessKey") else {
            throw TimedOut(what: "moto CreateAccessKey gave no key: \(key)")
        }
        _ = try await post("0", contentType: "text/plain", path: "/moto-api/reset-auth")
        return SigV4Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    public func client(_ group: any EventLoopGroup, credentials: SigV4Credentials? = nil, caFile: String? = nil, now: (@Sendable () -> SigV4Timestamp)? = nil) throws -> S3Client {
        let configuration = S3Configuration(endpoint: endpoint, credentials: credentials ?? self.credentials, caFile: caFile, requestTimeout: .seconds(180))
        if let now { return try S3Client(configuration: configuration, eventLoopGroup: group, now: now) }
        return try S3Client(configuration: configuration, eventLoopGroup: group)
    }

    /// Creates `bucket` with this server's key.
    public func createBucket(_ bucket: String) async throws {
        let client = try client(MultiThreadedEventLoopGroup.singleton)
        do {
            try await client.createBucket(bucket)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The next `count` S3 requests are answered `status` (500 `InternalError` or 503 `SlowDown`, with S3's error
    /// XML) without reaching moto, as S3 answers under load; the launcher's `/outrider-test/fail-next`.
    public func failNext(_ count: Int, status: Int = 500) async throws {
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        do {
            var request = HTTPClientRequest(url: endpoint.base + "/outrider-test/fail-next")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: "\(count) \(status)"))
            let response = try await http.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1024)
            try await http.shutdown()
            guard response.status == .ok else { throw TimedOut(what: "moto fail-next: \(response.status)") }
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// SIGKILL: moto's server does not always exit on SIGTERM.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

extension MotoServer.TLSFiles {
    /// A CA and a certificate for IP 127.0.0.1 signed by it, made with openssl in `directory`.
    public static func make(in directory: String) throws -> MotoServer.TLSFiles {
        let script = """
            set -e
            cd '\(directory)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=outrider-test-ca \\
              -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
            printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        try process.run()
        let text = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TimedOut(what: "openssl failed (the https test needs /usr/bin/openssl): \(String(decoding: text, as: UTF8.self))")
        }
        return MotoServer.TLSFiles(certificate: directory + "/server.pem", key: directory + "/server.key", ca: directory + "/ca.pem")
    }
}
