import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One request from a command to the local admin listener, on async-http-client: the commands stay off
/// Foundation's URLSession, which would tie the statically linked binary to libcurl.
enum AdminRequest {
    struct Unreachable: Error, CustomStringConvertible {
        var description: String
    }

    /// The answer's status and body; throws ``Unreachable`` (one line) when no answer came.
    static func send(
        _ method: HTTPMethod,
        _ url: String,
        body: Data? = nil,
        headers: [String: String] = [:],
        timeout: TimeAmount = .seconds(40)
    ) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), Data(bytes.readableBytesView))
        } catch {
            throw Unreachable(description: "\(error)")
        }
    }
}
