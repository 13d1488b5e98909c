import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite struct ResponseParserTests {
    /// The parts `text` parses into, described as strings, fed whole and then one byte at a time
    /// (the two must agree), with the bytes left over.
    private func parts(_ text: String, answersHead: Bool = false, closeAtEnd: Bool = false) throws -> (parts: [String], leftover: String) {
        let whole = try feed([text], answersHead: answersHead, closeAtEnd: closeAtEnd)
        let bytewise = try feed(text.utf8.map { String(decoding: [$0], as: UTF8.self) }, answersHead: answersHead, closeAtEnd: closeAtEnd)
        #expect(merged(whole.parts) == merged(bytewise.parts), "fed whole and byte by byte differ")
        #expect(whole.leftover == bytewise.leftover)
        return whole
    }

    private func feed(_ pieces: [String], answersHead: Bool, closeAtEnd: Bool) throws -> (parts: [String], leftover: String) {
        var parser = ResponseParser()
        parser.answersHead = answersHead
        var buffer = ByteBuffer()
        var described: [String] = []
        func drain() throws {
            while let part = try parser.next(from: &buffer) {
                described.append(describe(part))
            }
        }
        for piece in pieces {
            buffer.writeString(piece)
            try drain()
        }
        if closeAtEnd, let part = try parser.connectionClosed(leftover: buffer.readableBytes) {
            described.append(describe(part))
        }
        return (described, String(buffer: buffer))
    }

    private func describe(_ part: ResponseParser.Part) -> String {
        switch part {
        case .head(let head):
            let fields = head.httpResponseHead.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
            return "head \(head.statusCode) \(String(buffer: head.reasonPhrase)) [\(fields)]"
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

    @Test func sizedBody() throws {
        let result = try parts("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\nhelloHTTP/1.1")
        #expect(merged(result.parts) == ["head 200 OK [Content-Length=5,X-A=b c]", "body hello", "end"])
        #expect(result.leftover == "HTTP/1.1")
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;name=value\r\nhello\r\n6 \r\n world\r\n0\r\nX-Sum: 9\r\n\r\n"
        let result = try parts(text)
        #expect(merged(result.parts) == ["head 200 OK [Transfer-Encoding=gzip, chunked]", "body hello world", "end X-Sum=9"])
        #expect(result.leftover.isEmpty)
    }

    @Test func bodilessResponses() throws {
        #expect(try parts("HTTP/1.1 204 No Content\r\n\r\n").parts == ["head 204 No Content []", "end"])
        #expect(try parts("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").parts.last == "end")
        let head = try parts("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", answersHead: true)
        #expect(head.parts == ["head 200 OK [Content-Length=100]", "end"])
    }

    @Test func interimResponsesComeBeforeTheFinalOne() throws {
        let result = try parts("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(merged(result.parts) == ["head 100 Continue []", "head 200 OK [Content-Length=2]", "body ok", "end"])
    }

    @Test func switchingProtocolsLeavesTheRestToTheNewProtocol() throws {
        let result = try parts("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{1}frame")
        #expect(result.parts == ["head 101 Switching Protocols [Upgrade=websocket,Connection=Upgrade]", "end"])
        #expect(result.leftover == "\u{1}frame")
    }

    @Test func bodyWithoutLengthEndsWhenTheConnectionCloses() throws {
        let result = try parts("HTTP/1.0 200 OK\r\n\r\nall of it", closeAtEnd: true)
        #expect(merged(result.parts) == ["head 200 OK []", "body all of it", "end"])
    }

    @Test func statusLineWithoutReason() throws {
        #expect(try parts("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").parts == ["head 200  [Content-Length=0]", "end"])
        #expect(try parts("HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n").parts.first == "head 599  [Content-Length=0]")
    }

    @Test func connectionFacts() throws {
        var parser = ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n")
        guard case .head(let head) = try parser.next(from: &buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.isKeepAlive)
        #expect(head.fields.connectionNamesFields)
        var close = ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        guard case .end = try parser.next(from: &buffer), case .head(let closing) = try parser.next(from: &close) else {
            Issue.record("no second head")
            return
        }
        #expect(!closing.isKeepAlive)
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
    ])
    func malformedResponsesAreRefused(_ text: String) {
        #expect(throws: HTTP1ParseError.self) {
            var parser = ResponseParser()
            var buffer = ByteBuffer(string: text)
            while try parser.next(from: &buffer) != nil {}
        }
    }

    @Test func oversizedHeadIsRefused() {
        #expect(throws: HTTP1ParseError.self) {
            var parser = ResponseParser()
            var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: ResponseParser.maxHeadBytes))
            _ = try parser.next(from: &buffer)
        }
    }

    @Test func truncatedResponseIsAnError() throws {
        var parser = ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        while try parser.next(from: &buffer) != nil {}
        #expect(throws: HTTP1ParseError.self) { try parser.connectionClosed(leftover: 0) }
        var idle = ResponseParser()
        #expect(try idle.connectionClosed(leftover: 0) == nil)
    }
}
