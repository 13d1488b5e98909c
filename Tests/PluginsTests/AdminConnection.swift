import Foundation

/// A raw HTTP/1.1 client connection over a loopback socket: the test speaks the bytes itself, so the server is
/// checked against the protocol rather than against another HTTP library's leniency.
///
/// The socket is blocking, so every read runs on a thread of its own: not on one of the few threads Swift
/// concurrency shares with the server under test, nor on Dispatch's pool, which on a small machine is as narrow
/// and would hold one test's read behind another's long poll.
final class AdminConnection {
    private let fd: Int32
    private var received: [UInt8] = []
    private var closed = false

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit { if !closed { Foundation.close(fd) } }

    static func connect(port: Int) async throws -> AdminConnection {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Foundation.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return AdminConnection(fd: fd)
    }

    func send(_ request: String) {
        _ = request.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        Foundation.close(fd)
    }

    /// Reads once more from the socket; false at the end of input.
    private func receiveMore() async throws -> Bool {
        let fd = self.fd
        let chunk: [UInt8] = try await withCheckedThrowingContinuation { continuation in
            Thread {
                var buffer = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &buffer, buffer.count)
                if n < 0 { continuation.resume(throwing: POSIXError(.ETIMEDOUT)) } else { continuation.resume(returning: Array(buffer[0..<n])) }
            }.start()
        }
        received += chunk
        return !chunk.isEmpty
    }

    /// The next response; `head` when it answers a HEAD request, which has no body whatever its fields say.
    func response(head: Bool = false) async throws -> HTTPExchange {
        while true {
            if let (response, used) = HTTPExchange.parse(received, head: head) {
                received.removeFirst(used)
                return response
            }
            guard try await receiveMore() else { throw POSIXError(.ECONNRESET) }
        }
    }

    /// Everything received so far and until `text` has arrived, without consuming it.
    func waitFor(_ text: String) async throws -> String {
        while !String(decoding: received, as: UTF8.self).contains(text) {
            guard try await receiveMore() else { throw POSIXError(.ECONNRESET) }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Everything until the server closes the connection.
    func untilClosed() async throws -> String {
        while try await receiveMore() {}
        return String(decoding: received, as: UTF8.self)
    }
}

/// One response as read from the wire, its body decoded from `Content-Length` or chunked framing.
struct HTTPExchange {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    static func send(_ request: String, port: Int, head: Bool = false) async throws -> HTTPExchange {
        try await send(request, port: port, expecting: 1, head: head)[0]
    }

    static func send(_ request: String, port: Int, expecting count: Int, head: Bool = false) async throws -> [HTTPExchange] {
        let connection = try await AdminConnection.connect(port: port)
        defer { connection.close() }
        connection.send(request)
        var responses: [HTTPExchange] = []
        while responses.count < count { responses.append(try await connection.response(head: head)) }
        return responses
    }

    /// A whole response at the start of `bytes` and how many bytes it took, or nil when more are needed.
    static func parse(_ bytes: [UInt8], head: Bool) -> (HTTPExchange, Int)? {
        guard let end = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let headLines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(headLines[0].split(separator: " ")[1]) ?? 0
        let headers = headLines.dropFirst().map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        var response = HTTPExchange(status: status, headers: headers, body: "")
        let bodyStart = end + 4
        if head { return (response, bodyStart) }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var position = bodyStart
            var body: [UInt8] = []
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: position) else { return nil }
                let size = Int(String(decoding: bytes[position..<lineEnd], as: UTF8.self), radix: 16) ?? 0
                let dataStart = lineEnd + 2
                if size == 0 {
                    guard bytes.count >= dataStart + 2 else { return nil }
                    response.body = String(decoding: body, as: UTF8.self)
                    return (response, dataStart + 2)
                }
                guard bytes.count >= dataStart + size + 2 else { return nil }
                body += bytes[dataStart..<(dataStart + size)]
                position = dataStart + size + 2
            }
        }
        let length = Int(response.header("content-length") ?? "0") ?? 0
        guard bytes.count >= bodyStart + length else { return nil }
        response.body = String(decoding: bytes[bodyStart..<(bodyStart + length)], as: UTF8.self)
        return (response, bodyStart + length)
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
