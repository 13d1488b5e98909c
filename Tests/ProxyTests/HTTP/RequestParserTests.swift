import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct RequestParserTests {
    /// The parts `text` parses into, described as strings, fed whole and then one byte at a time
    /// (the two must agree), with the bytes left over.
    private func parts(_ text: String, maxHeadBytes: Int = 4096) throws -> (parts: [String], leftover: String) {
        let whole = try feed([text], maxHeadBytes: maxHeadBytes)
        let bytewise = try feed(text.utf8.map { String(decoding: [$0], as: UTF8.self) }, maxHeadBytes: maxHeadBytes)
        #expect(merged(whole.parts) == merged(bytewise.parts), "fed whole and byte by byte differ")
        #expect(whole.leftover == bytewise.leftover)
        return whole
    }

    private func feed(_ pieces: [String], maxHeadBytes: Int) throws -> (parts: [String], leftover: String) {
        var parser = RequestParser(maxHeadBytes: maxHeadBytes)
        var buffer = ByteBuffer()
        var described: [String] = []
        for piece in pieces {
            buffer.writeString(piece)
            while let part = try parser.next(from: &buffer) {
                described.append(describe(part))
            }
        }
        return (described, String(buffer: buffer))
    }

    private func describe(_ part: RequestParser.Part) -> String {
        switch part {
        case .head(let head):
            let fields = head.fieldPairs.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
            return "head \(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]"
        case .body(let bytes):
            return "body \(String(buffer: bytes))"
        case .end(let trailers):
            return "end" + (trailers.map { " " + $0.map { "\($0.name)=\($0.value)" }.joined(separator: ",") } ?? "")
        }
    }

    /// Consecutive body parts joined, since splitting the input splits the body.
    private func merged(_ parts: [String]) -> [String] {
        var result: [String] = []
        for part in parts {
            if part.hasPrefix("body "), let last = result.last, last.hasPrefix("body ") {
                result[result.count - 1] = last + part.dropFirst(5)
            } else {
                result.append(part)
            }
        }
        return result
    }

    private func error(_ text: String, maxHeadBytes: Int = 4096) -> HTTP1ParseError? {
        var parser = RequestParser(maxHeadBytes: maxHeadBytes)
        var buffer = ByteBuffer(string: text)
        do {
            while try parser.next(from: &buffer) != nil {}
            return nil
        } catch {
            return error as? HTTP1ParseError
        }
    }

    @Test func requestWithoutBody() throws {
        let (parts, leftover) = try parts("GET /a?b=c HTTP/1.1\r\nHost: example\r\nX-Empty:\r\nX-Spaced: \t v w \t\r\n\r\n")
        #expect(parts == ["head GET /a?b=c HTTP/1.1 [Host=example,X-Empty=,X-Spaced=v w]", "end"])
        #expect(leftover.isEmpty)
    }

    @Test func contentLengthBody() throws {
        let (parts, _) = try parts("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        #expect(merged(parts) == ["head POST /up HTTP/1.1 [Host=h,Content-Length=5]", "body hello", "end"])
    }

    @Test func equalContentLengthsAreOneLength() throws {
        let (parts, _) = try parts("PUT / HTTP/1.1\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nab")
        #expect(merged(parts).dropFirst() == ["body ab", "end"])
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n3;name=value\r\nabc\r\nA \r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n"
        let (parts, leftover) = try parts(text)
        #expect(merged(parts) == ["head POST / HTTP/1.1 [Transfer-Encoding=Chunked]", "body abc0123456789", "end X-Sum=1"])
        #expect(leftover.isEmpty)
    }

    @Test func pipelinedRequestsAndLeadingEmptyLines() throws {
        let (parts, leftover) = try parts("\r\n\r\nGET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /3 HTT")
        #expect(parts == ["head GET /1 HTTP/1.1 []", "end", "head HEAD /2 HTTP/1.0 [Connection=keep-alive]", "end"])
        #expect(leftover == "GET /3 HTT")
    }

    @Test func unknownMethodsAreTokens() throws {
        let (parts, _) = try parts("PROPFIND /dav HTTP/1.1\r\n\r\n")
        #expect(parts.first == "head PROPFIND /dav HTTP/1.1 []")
    }

    @Test func bytesAfterUpgradeRequestAreLeftUnread() throws {
        let text = "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}\u{5}hello GET / HTTP/1.1\r\n\r\n"
        let upgrade = try parts(text)
        #expect(upgrade.parts == ["head GET /ws HTTP/1.1 [Connection=Upgrade,Upgrade=websocket]", "end"])
        #expect(upgrade.leftover == "\u{1}\u{5}hello GET / HTTP/1.1\r\n\r\n")
        let connect = try parts("CONNECT host:443 HTTP/1.1\r\n\r\nraw")
        #expect(connect.parts == ["head CONNECT host:443 HTTP/1.1 []", "end"])
        #expect(connect.leftover == "raw")
    }

    @Test func upgradeFieldWithoutConnectionOptionIsAnOrdinaryRequest() throws {
        let (parts, _) = try parts("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
        #expect(parts.count == 4)
    }

    @Test(arguments: [
        ("bare line feed in the head", "GET / HTTP/1.1\nHost: h\r\n\r\n"),
        ("bare line feed ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n"),
        ("obs-fold", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n"),
        ("space before the colon", "GET / HTTP/1.1\r\nX-A : a\r\n\r\n"),
        ("empty field name", "GET / HTTP/1.1\r\n: a\r\n\r\n"),
        ("NUL in a value", "GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n"),
        ("carriage return in a value", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"),
        ("DEL in a value", "GET / HTTP/1.1\r\nX-A: a\u{7F}b\r\n\r\n"),
        ("lower-case version", "GET / http/1.1\r\n\r\n"),
        ("missing version", "GET /\r\n\r\n"),
        ("two spaces", "GET  / HTTP/1.1\r\n\r\n"),
        ("space in the target", "GET /a b HTTP/1.1\r\n\r\n"),
        ("tab after the method", "GET\t/ HTTP/1.1\r\n\r\n"),
        ("bad method character", "G@T / HTTP/1.1\r\n\r\n"),
        ("empty method", " / HTTP/1.1\r\n\r\n"),
        ("trailing space after the version", "GET / HTTP/1.1 \r\n\r\n"),
        ("differing content lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        ("differing content length list", "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd"),
        ("signed content length", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"),
        ("empty content length", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"),
        ("empty content length after one", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: ,\r\n\r\nabc"),
        ("huge content length", "POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n"),
        ("content length and transfer encoding", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("transfer encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("chunked not last", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("invalid chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
        ("chunk size with a sign", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"),
        ("chunk size too large", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"),
        ("chunk longer than its size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
        ("control character in a chunk extension", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a\u{1}\r\nx\r\n0\r\n\r\n"),
        ("bare line feed after a chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n"),
        ("obs-fold in trailers", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\r\n b\r\n\r\n"),
    ])
    func malformedRequestsGet400(name: String, text: String) {
        #expect(error(text)?.status == .badRequest, "\(name)")
    }

    @Test func otherTransferCodingsAreNotImplemented() {
        #expect(error("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status == .notImplemented)
    }

    @Test func otherVersionsAreNotSupported() {
        #expect(error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?.status == .httpVersionNotSupported)
        #expect(error("GET / HTTP/0.9\r\n\r\n")?.status == .httpVersionNotSupported)
    }

    @Test func headLimitCountsTheWholeHead() throws {
        let fits = "GET / HTTP/1.1\r\nX-Big: \(String(repeating: "b", count: 100))\r\n\r\n"
        #expect(try parts(fits, maxHeadBytes: fits.utf8.count).parts.count == 2)
        #expect(error(fits, maxHeadBytes: fits.utf8.count - 1) != nil)
        // An unfinished head is refused as soon as it passes the limit.
        #expect(error("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "b", count: 200))", maxHeadBytes: 100) != nil)
        #expect(error("GET / HTTP/1.1\r\nX-Big: bbb", maxHeadBytes: 100) == nil)
    }

    @Test func trailerSectionIsLimited() {
        let trailer = "X-T: \(String(repeating: "t", count: 200))\r\n"
        #expect(error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\(trailer)\r\n", maxHeadBytes: 100) != nil)
        #expect(error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\(trailer)\r\n", maxHeadBytes: 1000) == nil)
    }

    @Test func headFedInPieces() throws {
        var parser = RequestParser(maxHeadBytes: 4096)
        var buffer = ByteBuffer()
        for piece in ["GET / HT", "TP/1.1\r", "\nHost: h\r\n", "X-A: 1\r\n\r", "\n"] {
            #expect(try parser.next(from: &buffer) == nil)
            buffer.writeString(piece)
        }
        guard case .head(let head) = try parser.next(from: &buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.fieldPairs.map(\.value) == ["h", "1"])
        #expect(buffer.readableBytes == 0)
    }

    /// RFC 9112 3.2: a request with more than one `Host` is refused, whatever their values.
    @Test func moreThanOneHostIsRefused() {
        #expect(error("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n")?.status == .badRequest)
        #expect(error("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: b\r\n\r\n")?.status == .badRequest)
        #expect(error("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == nil)
    }

    /// Each field `Connection` names is compared with every line, so a head may name only a few.
    @Test func connectionMayNameOnlyAFewFields() {
        let few = (0..<HeadFields.maxNamedFields).map { "x-\($0)" }.joined(separator: ",")
        #expect(error("GET / HTTP/1.1\r\nConnection: \(few)\r\n\r\n") == nil)
        #expect(error("GET / HTTP/1.1\r\nConnection: \(few), x-more\r\n\r\n")?.status == .badRequest)
        #expect(error("GET / HTTP/1.1\r\nConnection: \(String(repeating: "a,", count: 2000))\r\n\r\n", maxHeadBytes: 8192)?.status == .badRequest)
    }

    /// What the parser notes of a head's fields, which the proxy acts on without reading the
    /// fields again.
    @Test func headFactsAreNotedAsTheLinesAreRead() throws {
        let text = "PUT /x?y HTTP/1.1\r\nHost: h:1\r\nConnection: Keep-Alive, Upgrade\r\nUpgrade: websocket\r\n"
            + "TE: trailers\r\nContent-Length: 4\r\n\r\nbody"
        let (parts, _) = try parts(text)
        #expect(parts.first == "head PUT /x?y HTTP/1.1 [Host=h:1,Connection=Keep-Alive, Upgrade,Upgrade=websocket,TE=trailers,Content-Length=4]")
        var parser = RequestParser(maxHeadBytes: 4096)
        var buffer = ByteBuffer(string: text)
        guard case .head(let head) = try parser.next(from: &buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.method == .PUT)
        #expect(head.uri == "/x?y")
        #expect(head.isKeepAlive)
        #expect(head.asksToUpgrade && head.asksToSwitchProtocols)
        #expect(head.hasBody)
        #expect(head.fields.acceptsTrailers)
        #expect(head.fields.contentLength == 4)
        #expect(head.fieldPairs.count == 5)
        #expect(head.targets(path: "/x") && !head.targets(path: "/"))
        #expect(try RequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/health?a", headers: [:])).targets(path: "/v1/health"))
        #expect(try !RequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/healthz", headers: [:])).targets(path: "/v1/health"))
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", false),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
    ])
    func keepAliveFollowsVersionAndConnection(text: String, keepAlive: Bool) throws {
        var parser = RequestParser(maxHeadBytes: 4096)
        var buffer = ByteBuffer(string: text)
        guard case .head(let head) = try parser.next(from: &buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.isKeepAlive == keepAlive)
    }

    /// A head that arrives in pieces, a byte at a time or split anywhere, is read to the same
    /// facts, and forwarded as the same bytes, as one that arrives whole.
    @Test func headsInPiecesAreReadToTheSameFacts() throws {
        let heads = [
            "GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n",
            "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTE: trailers\r\nX-T:\tv\t\r\nKeep-Alive: 1\r\nTrailer: x\r\nProxy-Connection: y\r\nUpgrade: z\r\n\r\n",
            "GET /c HTTP/1.1\r\nhost: H\r\nconnection: Upgrade\r\nupgrade: websocket\r\nX-Long: \(String(repeating: "v", count: 300))\r\n\r\n",
        ]
        func forwarded(_ pieces: [String]) throws -> String {
            var parser = RequestParser(maxHeadBytes: 4096)
            var buffer = ByteBuffer()
            for piece in pieces {
                buffer.writeString(piece)
                if case .head(let head) = try parser.next(from: &buffer) {
                    var wire = ByteBuffer()
                    let chunked = ForwardedRequest(clientIP: "10.0.0.9", scheme: "http").write(head, into: &wire)
                    return "\(head.isKeepAlive) \(head.asksToUpgrade) \(head.hasBody) \(chunked) \(String(buffer: wire))"
                }
            }
            Issue.record("no head")
            return ""
        }
        for text in heads {
            let whole = try forwarded([text])
            #expect(try forwarded(text.utf8.map { String(decoding: [$0], as: UTF8.self) }) == whole)
            for cut in stride(from: 1, to: text.utf8.count, by: 7) {
                let bytes = Array(text.utf8)
                let pieces = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
                #expect(try forwarded(pieces) == whole, "cut at \(cut)")
            }
        }
    }

    /// HTTP/2 heads are written out as HTTP/1 and read by the same rules; what cannot be
    /// written as one HTTP/1 line is refused rather than split into two.
    @Test func http2HeadsAreReadByTheSameRules() throws {
        let head = try RequestHead(HTTPRequestHead(version: HTTPVersion(major: 2, minor: 0), method: .POST, uri: "/p", headers: ["host": "h", "content-length": "3"]))
        #expect(head.fields.contentLength == 3)
        #expect(head.fieldPairs.map(\.name) == ["host", "content-length"])
        #expect(!head.isKeepAlive)
        for headers: HTTPHeaders in [HTTPHeaders([("host", "a"), ("host", "b")]), ["x-a": "1\r\nx-injected: 2"], ["x-a\r\nb": "1"], ["content-length": "x"], ["x-a": "\u{0}"]] {
            #expect(throws: HTTP1ParseError.self) {
                try RequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers))
            }
        }
    }
}

extension RequestHead {
    /// The head's fields, names and trimmed values as they came.
    var fieldPairs: [(name: String, value: String)] {
        withBytes { _, lines in
            var pairs: [(String, String)] = []
            HeadFields.forEachLine(of: lines) { _, start, end in
                let (name, value) = ASCII.fieldNameAndValue(UnsafeRawBufferPointer(rebasing: lines[start..<end - 2]))
                pairs.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
            return pairs
        }
    }
}
