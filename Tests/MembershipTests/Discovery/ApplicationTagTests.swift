import Membership
import Testing
import TestSupport

@Suite struct ApplicationTagTests {
    let web = Application(name: "web", listenPort: 443, applicationPort: 8080, transport: .http, domains: ["example.com", "www.example.com"])
    let api = Application(name: "api-v2", listenPort: 8443, applicationPort: 9000, transport: .https, domains: ["*.api.example.com"])

    @Test func encodesCompactlyAndRoundTrips() throws {
        let value = ApplicationTag.encode([web, api])
        #expect(value == "web:443>8080/http=example.com,www.example.com;api-v2:8443>9000/https=*.api.example.com")
        #expect(try ApplicationTag.decode(value) == [web, api])
        #expect(try ApplicationTag.decode("") == [])
    }

    @Test func scrimplbsRulesAreKept() {
        #expect(Application(name: "web", listenPort: 80, applicationPort: 8080, transport: .http, domains: ["a.com"]).problems
            == ["listen_port 80 is refused: load balancers keep port 80 for their redirect to HTTPS"])
        #expect(Application(name: "web", listenPort: 443, applicationPort: 8080, transport: .http, domains: []).problems
            == ["domains needs at least one domain"])
        #expect(Application(name: "w b", listenPort: 443, applicationPort: 0, transport: .tcp, domains: ["a..com"]).problems == [
            "name 'w b' may hold only letters, digits, '.', '_' and '-', not ' '",
            "application_port 0 is not a port (1-65535)",
            "domain 'a..com' is not a host name (letters, digits, '-' and '.', or a leading '*.')",
        ])
        #expect(web.problems.isEmpty && api.problems.isEmpty)
    }

    @Test(arguments: [
        "web", "web:443", "web:443>8080", "web:443>8080/http", "web:443>8080/ftp=a.com", "web:0>8080/http=a.com",
        "web:443>99999/http=a.com", "web:80>8080/http=a.com", "web:443>8080/http=", "web:443>8080/http=a.com,",
        ":443>8080/http=a.com", "web:443>8080/http=a.com;", "web:+44>8080/http=a.com", "web:443>0x1F/http=a.com",
    ])
    func malformedValuesFailWithTheEntry(value: String) {
        #expect(throws: ApplicationTag.DecodingError.self) { try ApplicationTag.decode(value) }
    }

    /// The value comes from the network: any text decodes to valid applications or fails, never traps.
    @Test func anyTextDecodesOrFails() {
        var generator = SeededGenerator(seed: 0x5EED)
        let alphabet = Array("web:443>8080/http=a.com,;*.-_9x".unicodeScalars)
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 48)
            let text = String(String.UnicodeScalarView((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }))
            if let decoded = try? ApplicationTag.decode(text) {
                #expect(decoded.allSatisfy { $0.problems.isEmpty })
                #expect(ApplicationTag.encode(decoded) == text)
            }
        }
    }

    @Test func endpointsAreTheReachableMembersAnnouncingTheApplication() {
        var snapshot = MembershipSnapshot(localMember: Member(name: "lb", host: "10.0.0.1", port: 7946, status: .alive))
        snapshot = snapshot.applying([
            .joined(Member(name: "b2", host: "10.0.0.3", port: 7946, status: .alive, tags: [ApplicationTag.key: ApplicationTag.encode([web, api])])),
            .joined(Member(name: "b1", host: "10.0.0.2", port: 7946, status: .suspect, tags: [ApplicationTag.key: ApplicationTag.encode([web])])),
            .joined(Member(name: "b3", host: "10.0.0.4", port: 7946, status: .dead, tags: [ApplicationTag.key: ApplicationTag.encode([web])])),
            .joined(Member(name: "b4", host: "fd00::5", port: 7946, status: .alive, tags: [ApplicationTag.key: "garbage"])),
        ])
        #expect(snapshot.endpoints(of: "web").map(\.url) == ["http://10.0.0.2:8080", "http://10.0.0.3:8080"])
        #expect(snapshot.endpoints(of: "api-v2").map(\.url) == ["https://10.0.0.3:9000"])
        #expect(snapshot.endpoints(of: "none").isEmpty)
        #expect(snapshot.routedApplications.map(\.name) == ["api-v2", "web"])
        #expect(snapshot.routedApplications.last?.endpoints.map(\.member) == ["b1", "b2"])
        #expect(ApplicationEndpoint(member: "x", host: "fd00::5", port: 1, transport: .http).url == "http://[fd00::5]:1")
    }
}
