import TestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real HTTP program on loopback for the coordinator's handlers: Python's `http.server` answering each POST with
/// `<NAME> got <body>` and recording every request in order, read back with `GET /log`.
final class MessageHandler {
    let port: Int
    private let process: Process

    static let script = """
        import http.server, sys
        name = sys.argv[1]
        log = []
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode()
                log.append(self.path + ' ' + body)
                reply = (name + ' got ' + body).encode()
                self.send_response(200); self.send_header('Content-Length', str(len(reply))); self.end_headers(); self.wfile.write(reply)
            def do_GET(self):
                reply = '\\n'.join(log).encode()
                self.send_response(200); self.send_header('Content-Length', str(len(reply))); self.end_headers(); self.wfile.write(reply)
            def log_message(self, *a): pass
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        print('listening on port', server.server_address[1], flush=True)
        server.serve_forever()
        """

    init(name: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-c", Self.script, name]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.runUnmasked()
        do {
            let line = try await OutputLines(reading: out.fileHandleForReading).first(containing: "listening on port ")
            guard let range = line.range(of: " port "), let port = Int(line[range.upperBound...].prefix { $0.isNumber }) else {
                throw StaticBackend.UnexpectedOutput(line: line)
            }
            self.port = port
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        self.process = process
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Any method to a loopback port, for the coordinator's API.
enum HTTPCall {
    static func send(_ method: String, _ port: Int, _ path: String, body: String? = nil, headers: [String: String] = [:], timeout: TimeInterval = 10) async throws -> (status: Int, body: String) {
        let answer = try await exchange(method, port, path, body: body, headers: headers, timeout: timeout)
        return (answer.status, answer.body)
    }

    /// ``send(_:_:_:body:headers:timeout:)`` with the response's fields.
    static func exchange(_ method: String, _ port: Int, _ path: String, body: String? = nil, headers: [String: String] = [:], timeout: TimeInterval = 10) async throws -> (status: Int, body: String, headers: [String: String]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        request.timeoutInterval = timeout
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { fields["\(name)".lowercased()] = "\(value)" }
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), fields)
    }

    static func json(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }
}
