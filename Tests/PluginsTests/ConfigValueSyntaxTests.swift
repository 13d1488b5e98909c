import Plugins
import Testing

@Suite struct ConfigValueSyntaxTests {
    @Test(arguments: [
        ("250ms", .milliseconds(250)),
        ("5s", .seconds(5)),
        ("1m30s", .seconds(90)),
        ("1.5h", .seconds(5400)),
        ("2d", .seconds(172_800)),
        ("100us", .microseconds(100)),
        ("7ns", .nanoseconds(7)),
        ("0", .zero),
    ] as [(String, Duration)])
    func durations(_ text: String, _ duration: Duration) throws {
        #expect(try ConfigDuration.parse(text) == duration)
    }

    @Test(arguments: ["", "5", "s", "5x", "1m30", "-5s", "5 s", "1..5s"])
    func durationsThatDoNotParse(_ bad: String) {
        #expect(throws: ConfigDuration.ParseError.self) { try ConfigDuration.parse(bad) }
    }

    @Test func durationDescriptions() {
        #expect(ConfigDuration(.seconds(90)).description == "1m30s")
        #expect(ConfigDuration(.milliseconds(250)).description == "250ms")
        #expect(ConfigDuration(.zero).description == "0s")
    }

    @Test(arguments: ["1h1m1s", "250ms", "10s", "3us"])
    func durationDescriptionsRoundTrip(_ text: String) throws {
        #expect(ConfigDuration(try ConfigDuration.parse(text)).description == text)
    }

    @Test(arguments: [
        ("64KiB", 65536),
        ("1MB", 1_000_000),
        ("32MiB", 32 << 20),
        ("1.5KiB", 1536),
        ("512", 512),
        ("10 GiB", 10 << 30),
    ])
    func sizes(_ text: String, _ bytes: Int) throws {
        #expect(try ByteSize.parse(text).bytes == bytes)
    }

    @Test(arguments: ["", "MiB", "1K", "1M", "0.3B", "12 parsecs", "-1MB"])
    func sizesThatDoNotParse(_ bad: String) {
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse(bad) }
    }

    @Test func sizeDescriptions() {
        #expect(ByteSize(bytes: 64 << 10).description == "64KiB")
        #expect(ByteSize(bytes: 1000).description == "1000B")
    }

    @Test func addresses() throws {
        #expect(try ListenAddress.parse(":8080") == ListenAddress(host: "", port: 8080))
        #expect(try ListenAddress.parse(":8080").bindHost == "0.0.0.0")
        #expect(try ListenAddress.parse(":8080").description == ":8080")
        #expect(try ListenAddress.parse("127.0.0.1:8080") == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(try ListenAddress.parse("[::1]:8080") == ListenAddress(host: "::1", port: 8080))
        #expect(try ListenAddress.parse("minio1:9000") == ListenAddress(host: "minio1", port: 9000))
        #expect(try ListenAddress.parse("localhost:0").port == 0)
        #expect(ListenAddress(host: "::1", port: 80).description == "[::1]:80")
    }

    @Test(arguments: ["8080", "host:", "host:http", ":65536", "::1:80", "[::1]80", "[::1", "[127.0.0.1]:80", "a b:80"])
    func addressesThatDoNotParse(_ bad: String) {
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress.parse(bad) }
    }

    @Test(arguments: [
        ("${KEY}", "secret"),
        ("a-${KEY}-b", "a-secret-b"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY}", ""),
        ("${MISSING:-}", ""),
        ("cost $$5", "cost $5"),
        ("^/api$", "^/api$"),
        ("no variables", "no variables"),
    ])
    func environmentExpansion(_ text: String, _ expanded: String) throws {
        let expansion = EnvironmentExpansion(environment: ["KEY": "secret", "EMPTY": ""])
        #expect(try expansion.expand(text) == expanded)
    }

    @Test func environmentExpansionFailures() {
        let expansion = EnvironmentExpansion(environment: ["KEY": "secret", "EMPTY": ""])
        let missing = #expect(throws: EnvironmentExpansion.Failure.self) { try expansion.expand("${MISSING}") }
        #expect(missing?.offset == 0)
        let unterminated = #expect(throws: EnvironmentExpansion.Failure.self) { try expansion.expand("ab${KEY") }
        #expect(unterminated?.offset == 2)
        #expect(throws: EnvironmentExpansion.Failure.self) { try expansion.expand("${1BAD}") }
        #expect(throws: EnvironmentExpansion.Failure.self) { try expansion.expand("${}") }
    }
}
