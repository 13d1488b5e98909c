import Plugins
import XCTest

final class ConfigValueSyntaxTests: XCTestCase {
    func testDurations() throws {
        XCTAssertEqual(try ConfigDuration.parse("250ms"), .milliseconds(250))
        XCTAssertEqual(try ConfigDuration.parse("5s"), .seconds(5))
        XCTAssertEqual(try ConfigDuration.parse("1m30s"), .seconds(90))
        XCTAssertEqual(try ConfigDuration.parse("1.5h"), .seconds(5400))
        XCTAssertEqual(try ConfigDuration.parse("2d"), .seconds(172_800))
        XCTAssertEqual(try ConfigDuration.parse("100us"), .microseconds(100))
        XCTAssertEqual(try ConfigDuration.parse("7ns"), .nanoseconds(7))
        XCTAssertEqual(try ConfigDuration.parse("0"), .zero)
        for bad in ["", "5", "s", "5x", "1m30", "-5s", "5 s", "1..5s"] {
            XCTAssertThrowsError(try ConfigDuration.parse(bad), "'\(bad)' should not parse")
        }
        XCTAssertEqual(ConfigDuration(.seconds(90)).description, "1m30s")
        XCTAssertEqual(ConfigDuration(.milliseconds(250)).description, "250ms")
        XCTAssertEqual(ConfigDuration(.zero).description, "0s")
        for text in ["1h1m1s", "250ms", "10s", "3us"] {
            XCTAssertEqual(ConfigDuration(try ConfigDuration.parse(text)).description, text)
        }
    }

    func testSizes() throws {
        XCTAssertEqual(try ByteSize.parse("64KiB").bytes, 65536)
        XCTAssertEqual(try ByteSize.parse("1MB").bytes, 1_000_000)
        XCTAssertEqual(try ByteSize.parse("32MiB").bytes, 32 << 20)
        XCTAssertEqual(try ByteSize.parse("1.5KiB").bytes, 1536)
        XCTAssertEqual(try ByteSize.parse("512").bytes, 512)
        XCTAssertEqual(try ByteSize.parse("10 GiB").bytes, 10 << 30)
        for bad in ["", "MiB", "1K", "1M", "0.3B", "12 parsecs", "-1MB"] {
            XCTAssertThrowsError(try ByteSize.parse(bad), "'\(bad)' should not parse")
        }
        XCTAssertEqual(ByteSize(bytes: 64 << 10).description, "64KiB")
        XCTAssertEqual(ByteSize(bytes: 1000).description, "1000B")
    }

    func testAddresses() throws {
        XCTAssertEqual(try ListenAddress.parse(":8080"), ListenAddress(host: "", port: 8080))
        XCTAssertEqual(try ListenAddress.parse(":8080").bindHost, "0.0.0.0")
        XCTAssertEqual(try ListenAddress.parse(":8080").description, ":8080")
        XCTAssertEqual(try ListenAddress.parse("127.0.0.1:8080"), ListenAddress(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(try ListenAddress.parse("[::1]:8080"), ListenAddress(host: "::1", port: 8080))
        XCTAssertEqual(try ListenAddress.parse("minio1:9000"), ListenAddress(host: "minio1", port: 9000))
        XCTAssertEqual(try ListenAddress.parse("localhost:0").port, 0)
        for bad in ["8080", "host:", "host:http", ":65536", "::1:80", "[::1]80", "[::1", "[127.0.0.1]:80", "a b:80"] {
            XCTAssertThrowsError(try ListenAddress.parse(bad), "'\(bad)' should not parse")
        }
        XCTAssertEqual(ListenAddress(host: "::1", port: 80).description, "[::1]:80")
    }

    func testEnvironmentExpansion() throws {
        let expansion = EnvironmentExpansion(environment: ["KEY": "secret", "EMPTY": ""])
        XCTAssertEqual(try expansion.expand("${KEY}"), "secret")
        XCTAssertEqual(try expansion.expand("a-${KEY}-b"), "a-secret-b")
        XCTAssertEqual(try expansion.expand("${MISSING:-fallback}"), "fallback")
        XCTAssertEqual(try expansion.expand("${EMPTY:-fallback}"), "fallback")
        XCTAssertEqual(try expansion.expand("${EMPTY}"), "")
        XCTAssertEqual(try expansion.expand("${MISSING:-}"), "")
        XCTAssertEqual(try expansion.expand("cost $$5"), "cost $5")
        XCTAssertEqual(try expansion.expand("^/api$"), "^/api$")
        XCTAssertEqual(try expansion.expand("no variables"), "no variables")
        XCTAssertThrowsError(try expansion.expand("${MISSING}")) { error in
            XCTAssertEqual((error as? EnvironmentExpansion.Failure)?.offset, 0)
        }
        XCTAssertThrowsError(try expansion.expand("ab${KEY")) { error in
            XCTAssertEqual((error as? EnvironmentExpansion.Failure)?.offset, 2)
        }
        XCTAssertThrowsError(try expansion.expand("${1BAD}"))
        XCTAssertThrowsError(try expansion.expand("${}"))
    }
}
