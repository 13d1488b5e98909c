import Foundation
import NIOPosix
import TestSupport
import Testing

/// A real nginx from Debian (`/usr/sbin/nginx`) run in a temporary prefix by one test: its own main file (one worker,
/// pid file, error log and temporary paths in the directory) including `conf.d/*.conf`, where the generated file
/// goes, and a server of its own on an ephemeral loopback port to tell when it is up. `check.sh` and `reload.sh` log
/// each call with a digest of the generated file, then run `nginx -t` and `nginx -s reload` on this prefix;
/// `check.sh` tests a broken copy of the main file while `break` exists, so that the real nginx -t fails.
final class NginxUnderTest {
    let directory: String
    let target: String
    let confDirectory: String
    let checkScript: String
    let reloadScript: String
    let statusPort: Int
    private let process: Process
    private var logPath: String { directory + "/runs.log" }
    static let binary = "/usr/sbin/nginx"

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw NginxFailure(description: "\(Self.binary) is missing: install Debian's nginx (nginx-light)")
        }
        directory = NSTemporaryDirectory() + "outrider-nginx-\(UUID().uuidString)"
        confDirectory = directory + "/conf.d"
        try FileManager.default.createDirectory(atPath: confDirectory, withIntermediateDirectories: true)
        target = confDirectory + "/outrider-upstreams.conf"
        statusPort = try FreePort.tcp()
        let main = directory + "/nginx.conf"
        let text = """
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(directory)/body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                server { listen 127.0.0.1:\(statusPort); location / { return 204; } }
                include \(confDirectory)/*.conf;
            }

            """
        try text.write(toFile: main, atomically: true, encoding: .utf8)
        try (text + "this_is_not_a_directive;\n").write(toFile: directory + "/broken.conf", atomically: true, encoding: .utf8)
        let nginx = "\(Self.binary) -p \(directory) -e \(directory)/error.log"
        checkScript = directory + "/check.sh"
        reloadScript = directory + "/reload.sh"
        try """
            #!/bin/sh
            echo "check $(md5sum < \(target) 2>/dev/null | cut -c1-32)" >> \(directory)/runs.log
            if [ -e \(directory)/break ]; then exec \(nginx) -t -q -c \(directory)/broken.conf; fi
            exec \(nginx) -t -q -c \(main)

            """.write(toFile: checkScript, atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            echo "reload $(md5sum < \(target) 2>/dev/null | cut -c1-32)" >> \(directory)/runs.log
            exec \(nginx) -c \(main) -s reload

            """.write(toFile: reloadScript, atomically: true, encoding: .utf8)
        for script in [checkScript, reloadScript] { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script) }

        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-p", directory, "-e", directory + "/error.log", "-c", main, "-g", "daemon off;"]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Up once its own server answers (the master has read its configuration and a worker accepts).
        let deadline = Date().addingTimeInterval(10)
        while (try? Self.request(port: statusPort, host: "status")) == nil {
            guard process.isRunning, Date() < deadline else {
                let log = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
                stop()
                throw NginxFailure(description: "nginx did not start: \(log)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `check.sh` tests the broken main file while this is on.
    func breakCheck(_ broken: Bool) throws {
        if broken {
            try Data().write(to: URL(fileURLWithPath: directory + "/break"))
        } else {
            try FileManager.default.removeItem(atPath: directory + "/break")
        }
    }

    /// The calls of `check.sh` and `reload.sh` so far, each with the digest of the generated file it saw.
    func log() -> [(action: String, digest: String)] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    /// Each reload directly follows a check of the same file.
    func expectEveryReloadChecked(_ step: String) {
        let runs = log()
        for (index, run) in runs.enumerated() where run.action == "reload" {
            let checked = index > 0 && runs[index - 1].action == "check" && runs[index - 1].digest == run.digest
            #expect(checked, "\(step): reload \(index) without a check of the same file before it: \(runs)")
        }
    }

    func targetInode() throws -> UInt64 {
        var info = stat()
        guard stat(target, &info) == 0 else { throw NginxFailure(description: "stat \(target): \(errno)") }
        return UInt64(info.st_ino)
    }

    /// The ports of the generated file's upstream servers.
    func upstreamPorts() -> [Int] {
        let text = (try? String(contentsOfFile: target, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("server 127.0.0.1:"), trimmed.hasSuffix(";") else { return nil }
            return Int(trimmed.dropFirst("server 127.0.0.1:".count).dropLast())
        }
    }

    /// What `count` requests through nginx got: the backends' names for 200s, else the status codes.
    func answers(port: Int, host: String, count: Int) async throws -> Set<String> {
        try await NIOThreadPool.singleton.runIfActive { [port, host, count] in
            var seen: Set<String> = []
            for _ in 0..<count {
                let (status, body) = try NginxUnderTest.request(port: port, host: host)
                seen.insert(status == 200 ? body : "\(status)")
            }
            return seen
        }
    }

    func eventually(_ what: String, timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        if try await condition() { return }
        let errors = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
        Issue.record("timed out waiting for \(what); runs \(log()); nginx error log: \(errors.suffix(2000))")
        throw NginxFailure(description: "timed out waiting for \(what)")
    }

    /// One `GET /` with `Host: host` on a new connection to 127.0.0.1:`port`; the status and the body.
    static func request(port: Int, host: String) throws -> (status: Int, body: String) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw NginxFailure(description: "socket: \(errno)") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NginxFailure(description: "connect to \(port): \(errno)") }
        let request = Array("GET / HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, 0) == request.count else { throw NginxFailure(description: "send: \(errno)") }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count >= 0 else { throw NginxFailure(description: "recv: \(errno)") }
            if count == 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n"), text.hasPrefix("HTTP/1.1 "),
              let status = Int(text.dropFirst("HTTP/1.1 ".count).prefix(3)) else {
            throw NginxFailure(description: "not an HTTP response: \(text.prefix(200))")
        }
        return (status, String(text[headEnd.upperBound...]))
    }
}

struct NginxFailure: Error, CustomStringConvertible {
    var description: String
}
