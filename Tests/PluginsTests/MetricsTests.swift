import CoreMetrics
import Foundation
import MetricsTestKit
import Plugins
import Prometheus
import Testing

@Suite struct MetricsTests {
    @Test func roleMetricsArePrefixed() throws {
        let metrics = TestMetrics()
        let factory = PrefixedMetricsFactory(base: metrics, prefix: "outrider_proxy_")
        Counter(label: "requests_total", dimensions: [("code", "200")], factory: factory).increment(by: 2)
        Timer(label: "request_duration_seconds", factory: factory).recordMilliseconds(5)
        Gauge(label: "backend_up", factory: factory).record(1)
        #expect(try metrics.expectCounter("outrider_proxy_requests_total", [("code", "200")]).totalValue == 2)
        #expect(try metrics.expectTimer("outrider_proxy_request_duration_seconds").lastValue == 5_000_000)
        #expect(try metrics.expectGauge("outrider_proxy_backend_up").lastValue == 1)
    }

    @Test func prefixedMetricsReachThePrometheusRegistry() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrefixedMetricsFactory(base: PrometheusMetricsFactory(registry: registry), prefix: "outrider_cache_")
        Counter(label: "hits_total", factory: factory).increment()
        #expect(registry.emitToString().contains("outrider_cache_hits_total 1"))
    }

    @Test func processMetricsFromProc() throws {
        // A fresh test process may not have used one clock tick of CPU yet: spend some, bounded in time.
        let deadline = Date().addingTimeInterval(2)
        var spin = 0
        while (ProcessMetrics.current()?.cpuSeconds ?? 0) == 0, Date() < deadline {
            for value in 0..<100_000 { spin &+= value }
        }
        withExtendedLifetime(spin) {}
        let metrics = try #require(ProcessMetrics.current())
        #expect(metrics.residentMemoryBytes > 1 << 20)
        #expect(metrics.virtualMemoryBytes >= metrics.residentMemoryBytes)
        #expect(metrics.openFileDescriptors > 2)
        #expect(metrics.cpuSeconds > 0)
        let now = Date().timeIntervalSince1970
        #expect(abs(metrics.startTimeSeconds - now) < 3600, "the test process started within the hour")
    }

    @Test(arguments: ["process_cpu_seconds_total", "process_open_fds", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_start_time_seconds"])
    func processMetricsFromProcAreExposed(_ name: String) throws {
        let text = try #require(ProcessMetrics.current()).exposition
        #expect(text.contains("# TYPE \(name) "))
        #expect(text.contains("\n\(name) "))
    }

    @Test func processMetricsReadAProcTreeWithSpacesInTheCommandName() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("self/fd"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        // cutime cstime priority nice threads itrealvalue starttime vsize rss ...
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 1000 123456789 2048 0 0"
        try stat.write(to: root.appendingPathComponent("self/stat"), atomically: true, encoding: .utf8)
        try "cpu  1 2 3\nbtime 1700000000\n".write(to: root.appendingPathComponent("stat"), atomically: true, encoding: .utf8)
        try "Limit Soft Hard Units\nMax open files            4096                 8192                 files\n".write(to: root.appendingPathComponent("self/limits"), atomically: true, encoding: .utf8)
        for fd in 0..<3 { try #require(FileManager.default.createFile(atPath: root.appendingPathComponent("self/fd/\(fd)").path, contents: nil)) }
        let metrics = try #require(ProcessMetrics.current(procRoot: root.path))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        #expect(abs(metrics.cpuSeconds - 400 / ticks) <= 1e-9)
        #expect(abs(metrics.startTimeSeconds - (1_700_000_000 + 1000 / ticks)) <= 1e-6)
        #expect(metrics.virtualMemoryBytes == 123_456_789)
        #expect(metrics.residentMemoryBytes == 2048 * Int(sysconf(Int32(_SC_PAGESIZE))))
        #expect(metrics.openFileDescriptors == 3)
        #expect(metrics.maxFileDescriptors == 4096)
    }
}

@Suite struct JSONValueTests {
    @Test func renderingKeepsOrderAndEscapes() {
        let value: JSONValue = ["b": 1, "a": ["x", true, .null], "s": .string("quote\" back\\ nl\n tab\t \u{01}"), "f": .number(1.5), "e": [:]]
        #expect(value.rendered() == """
            {
              "b": 1,
              "a": [
                "x",
                true,
                null
              ],
              "s": "quote\\" back\\\\ nl\\n tab\\t \\u0001",
              "f": 1.5,
              "e": {}
            }
            """)
    }

    @Test func roundTripThroughCodable() throws {
        struct Sample: Codable { var name: String; var count: Int; var ok: Bool; var tags: [String] }
        let value = try JSONValue(encoding: Sample(name: "n", count: 3, ok: true, tags: ["t"]))
        #expect(value["name"] == "n")
        #expect(value["count"] == 3)
        #expect(value["ok"] == true)
        #expect(value["tags"] == ["t"])
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(value.rendered().utf8))
        #expect(decoded == value)
    }
}
