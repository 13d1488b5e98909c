import Foundation
import ObjectStore

/// One case of the AWS SigV4 test suite (aws-c-auth `tests/aws-signing-test-suite/v4/`, copied under
/// `Resources/sigv4/v4` with its licence): the inputs of `context.json` and `request.txt` and the expected files.
struct SigV4TestSuiteCase: Sendable, CustomStringConvertible {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources/sigv4/v4")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    let name: String
    var description: String { name }

    init(_ name: String) { self.name = name }

    func file(_ file: String) throws -> String {
        try String(contentsOf: Self.directory.appendingPathComponent(name).appendingPathComponent(file), encoding: .utf8)
    }

    struct Context: Decodable {
        struct Credentials: Decodable {
            let access_key_id: String
            let secret_access_key: String
            let token: String?
        }
        let credentials: Credentials
        let expiration_in_seconds: Int?
        let normalize: Bool
        let region: String
        let service: String
        let sign_body: Bool
        let timestamp: String
        let omit_session_token: Bool?
    }

    func context() throws -> Context {
        try JSONDecoder().decode(Context.self, from: Data(file("context.json").utf8))
    }

    /// A request file: `METHOD target HTTP/1.1`, `Name:value` lines (continuation lines start with spaces), a
    /// blank line, the body. The target's path and query are percent-decoded (the files write some query names
    /// encoded and some raw, and the path raw).
    static func parse(_ text: String) -> (request: SignableRequest, body: [UInt8]) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines[0]
        let method = String(first.prefix { $0 != " " })
        var target = first.dropFirst(method.count + 1)
        if let suffix = target.range(of: " HTTP/1.1", options: .backwards) { target = target[..<suffix.lowerBound] }
        let pathPart = target.prefix { $0 != "?" }
        var query: [SignableRequest.QueryItem] = []
        if pathPart.count < target.count {
            for item in target.dropFirst(pathPart.count + 1).split(separator: "&") {
                let name = item.prefix { $0 != "=" }
                let value = item.count > name.count ? item.dropFirst(name.count + 1) : ""
                query.append(.init(decoded(name), decoded(value)))
            }
        }
        var headers: [SignableRequest.Header] = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " ", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append(.init(String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        let body = index + 1 < lines.count ? Array(lines[(index + 1)...].joined(separator: "\n").utf8) : []
        return (SignableRequest(method: method, path: decoded(pathPart), query: query, headers: headers), body)
    }

    static func decoded(_ text: some StringProtocol) -> String {
        String(decoding: SigV4Encoding.decode(text), as: UTF8.self)
    }
}
