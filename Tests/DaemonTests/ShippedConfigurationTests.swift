import Foundation
import Testing

/// Every configuration in `etc/outrider` passes `outrider check-config`: the default file and the examples the
/// Debian package ships (its package test checks them again once installed), and the demo `make run` starts.
@Suite struct ShippedConfigurationTests {
    static let etc = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("etc/outrider")

    static var files: [String] {
        let examples = (try? FileManager.default.contentsOfDirectory(atPath: etc.appendingPathComponent("examples").path)) ?? []
        return ["outrider.yaml", "demo.yaml"] + examples.filter { $0.hasSuffix(".yaml") }.sorted().map { "examples/" + $0 }
    }

    @Test func theExamplesAreFound() {
        #expect(Self.files.count >= 5, "\(Self.files)")
    }

    @Test(arguments: files) func passesCheckConfig(_ file: String) throws {
        let path = Self.etc.appendingPathComponent(file).path
        let result = try DaemonProcess.run(["check-config", "--config", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("configuration is valid"), "\(result.stdout)")
    }

    /// The demo's listeners stay on loopback whatever ports the environment picks.
    @Test func theDemoListensOnLoopbackOnly() throws {
        let result = try DaemonProcess.run(["check-config", "--config", Self.etc.appendingPathComponent("demo.yaml").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("admin 127.0.0.1:9901"), "\(result.stdout)")
        let text = try String(contentsOf: Self.etc.appendingPathComponent("demo.yaml"), encoding: .utf8)
        let addresses = text.split(separator: "\n").filter { $0.contains("listen:") || $0.contains("pools:") || $0.contains("bind:") }
        #expect(addresses.count == 5)
        #expect(addresses.allSatisfy { $0.contains("127.0.0.1:") }, "\(addresses)")
    }
}
