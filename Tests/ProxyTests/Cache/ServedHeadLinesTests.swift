import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import Proxy

/// A plain hit's head written from the bytes kept with a copy against the same head built from
/// fields and written as the proxy writes any stored head: seeded random stored heads, ages,
/// statuses and framings.
@Suite struct ServedHeadLinesTests {
    static let names = [
        "ETag", "Age", "Cache-Status", "Content-Length", "X-Private", "Date", "Content-Type", "Last-Modified", "Vary",
        "Expires", "X-Empty", "Set-Cookie",
    ]
    static let hopByHop = ["Connection", "Keep-Alive", "TE", "Transfer-Encoding", "Upgrade", "Proxy-Connection"]

    static func randomCase(_ name: String, _ random: inout SeededGenerator) -> String {
        String(name.map { Bool.random(using: &random) ? Character($0.lowercased()) : Character($0.uppercased()) })
    }

    /// The head as the fields path writes it (``HTTPCache``'s `serve` and the proxy's `serveStored`).
    static func fromFields(_ entry: CacheEntryHead, age: Int, status: CacheStatus, length: Int, version: HTTPVersion, connection: String?) -> String {
        let fields = CachePolicy().servedFields(
            entry, age: age, validated: false, extra: ["cache-status": status.description, "content-length": String(length)])
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: entry.status), headers: fields)
        head.headers.removeHopByHopFields()
        head.version = version
        if let connection { head.headers.replaceOrAdd(name: "connection", value: connection) }
        var buffer = ByteBuffer()
        buffer.writeResponseHead(head)
        return String(buffer: buffer)
    }

    @Test func theKeptBytesAreTheHeadBuiltFromFields() throws {
        var random = SeededGenerator(seed: 0x5EED_4EAD)
        var compared = 0
        for _ in 0..<500 {
            var headers = HTTPHeaders()
            for _ in 0..<Int.random(in: 0...8, using: &random) {
                let name = Self.randomCase(Self.names.randomElement(using: &random)!, &random)
                headers.add(name: name, value: ["1", "\"e\"", "", "a, b", "Thu, 01 Jan 2026 00:00:00 GMT"].randomElement(using: &random)!)
            }
            if Bool.random(using: &random) {
                let directive = ["max-age=60", "max-age=60, no-cache=\"x-private\"", "no-cache=\"X-PRIVATE, Date\", s-maxage=5", "public"]
                headers.add(name: Self.randomCase("Cache-Control", &random), value: directive.randomElement(using: &random)!)
            }
            let withHopByHop = Int.random(in: 0..<8, using: &random) == 0
            if withHopByHop {
                headers.add(name: Self.hopByHop.randomElement(using: &random)!, value: "x-private")
            }
            let entry = CacheEntryHead(uri: "http://h/p", status: [200, 203, 204, 301, 404, 410, 299].randomElement(using: &random)!, headers: headers)
            guard let lines = ServedHeadLines(entry) else {
                #expect(withHopByHop, "\(headers)")
                continue
            }
            #expect(!withHopByHop)
            let age = Int.random(in: -5...100_000, using: &random)
            let status = [
                CacheStatus(hit: true, ttl: Int.random(in: -50...500, using: &random)),
                CacheStatus(hit: true, ttl: 3, collapsed: true),
                CacheStatus(hit: true, ttl: -10, detail: "stale-while-revalidate"),
                CacheStatus(hit: true, ttl: -1, detail: "max-stale"),
            ].randomElement(using: &random)!
            let length = Int.random(in: 0...(1 << 20), using: &random)
            let version = [HTTPVersion.http1_1, .http1_0].randomElement(using: &random)!
            let connection = [nil, "close", "keep-alive"].randomElement(using: &random)!
            var bytes = ByteBuffer()
            let kept = StoredHeadBytes(lines: lines, age: age, cacheStatus: status, contentLength: length)
            kept.write(version: version, connection: connection.map { $0 == "close" ? "close" : "keep-alive" }, into: &bytes)
            #expect(
                String(buffer: bytes) == Self.fromFields(entry, age: age, status: status, length: length, version: version, connection: connection),
                "\(headers)"
            )
            #expect(bytes.readableBytes <= kept.maximumLength)
            compared += 1
        }
        #expect(compared > 300)
    }

    @Test func aCacheStatusWrittenAsBytesIsItsDescription() {
        let statuses = [
            CacheStatus(hit: true, ttl: 53),
            CacheStatus(hit: true, ttl: -10, collapsed: true, detail: "stale-while-revalidate"),
            CacheStatus(forward: .uriMiss, forwardStatus: 200, stored: true),
            CacheStatus(forward: .stale, forwardStatus: 503, detail: "stale-if-error"),
            CacheStatus(forward: .miss, detail: "store error \"x\""),
            CacheStatus(detail: "only-if-cached"),
            CacheStatus(hit: true, ttl: Int.min, detail: String(repeating: "\"", count: 40)),
            CacheStatus(forward: .varyMiss, forwardStatus: Int.max, ttl: Int.max, stored: true, collapsed: true, detail: "é\\x"),
        ]
        for status in statuses {
            var buffer = ByteBuffer()
            buffer.writeHead(maximumLength: status.maximumLength) { status.write(into: &$0) }
            #expect(String(buffer: buffer) == status.description)
            #expect(buffer.readableBytes <= status.maximumLength)
        }
    }

    @Test func aListOfVaryFieldsHasNoLines() {
        #expect(ServedHeadLines(CacheEntryHead(kind: .variants, uri: "http://h/p", varyNames: ["accept-encoding"])) == nil)
    }
}
