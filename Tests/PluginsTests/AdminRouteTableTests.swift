import NIOCore
import Testing

@testable import Plugins

/// Route patterns and the lookup as plain values, without a socket.
@Suite struct AdminRouteTableTests {
    @Test func segmentsAreSplitThenDecoded() {
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/a%2Fb") == ["kv", "a/b"])
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/a/b") == ["kv", "a", "b"])
        #expect(AdminRoutePattern.decodedSegments(of: "/") == [""])
        #expect(AdminRoutePattern.decodedSegments(of: "/members/") == ["members", ""])
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/%E2%9C%93%25") == ["kv", "✓%"])
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/100%") == nil, "a lone percent sign")
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/%zz") == nil)
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/%C3") == nil, "half a UTF-8 sequence")
        #expect(AdminRoutePattern.decodedSegments(of: "/kv/%FF") == nil)
    }

    @Test func aParameterIsOneNonEmptySegment() {
        let pattern = AdminRoutePattern("/kv/{key}")
        #expect(pattern.description == "/kv/{key}")
        #expect(pattern.match(["kv", "a/b"]) == ["key": "a/b"])
        #expect(pattern.match(["kv", ""]) == nil)
        #expect(pattern.match(["kv"]) == nil)
        #expect(pattern.match(["kv", "a", "b"]) == nil)
        #expect(pattern.match(["KV", "a"]) == nil, "literals are compared exactly")
        #expect(AdminRoutePattern("/").match([""]) == [:])
        #expect(AdminRoutePattern("/a/{x}/b/{y}").match(["a", "1", "b", "2"]) == ["x": "1", "y": "2"])
    }

    @Test func specificityAndShape() {
        let parameter = AdminRoutePattern("/kv/{key}")
        let literal = AdminRoutePattern("/kv/_keys")
        #expect(literal.isMoreSpecific(than: parameter))
        #expect(!parameter.isMoreSpecific(than: literal))
        #expect(!parameter.isMoreSpecific(than: parameter))
        #expect(AdminRoutePattern("/{a}/x").isMoreSpecific(than: AdminRoutePattern("/{a}/{b}")))
        #expect(AdminRoutePattern("/x/{b}").isMoreSpecific(than: AdminRoutePattern("/{a}/x")), "the first difference decides")
        #expect(parameter.hasSameShape(as: AdminRoutePattern("/kv/{name}")))
        #expect(!parameter.hasSameShape(as: literal))
    }

    @Test func theHandlerFoundIsGivenTheParameters() async throws {
        let table = AdminRouteTable()
        table.routes(for: "coordinator").add(.GET, "/kv/{key}") { request in .text(request.parameters["key"] ?? "none") }
        guard case .found(let handler) = table.lookup(role: "coordinator", method: .HEAD, path: "/kv/a%2Fb") else {
            Issue.record("HEAD did not fall back to GET")
            return
        }
        let response = try await handler(AdminRequest(method: .HEAD, path: "/kv/a%2Fb", query: nil, headers: [:], body: ByteBuffer()))
        #expect(String(buffer: response.body) == "a/b")
        guard case .badRequest = table.lookup(role: "coordinator", method: .GET, path: "/kv/%zz") else {
            Issue.record("an invalid encoding was not refused")
            return
        }
        guard case .notFound = table.lookup(role: "gossip", method: .GET, path: "/kv/a") else {
            Issue.record("another role's route was found")
            return
        }
    }
}
