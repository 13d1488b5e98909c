import Foundation

/// The `process_*` metrics Prometheus clients export, read from `/proc/self` at scrape time.
///
/// Names, types and units follow the Prometheus client libraries' process collector (client_golang's
/// `processCollector`), so existing dashboards work unchanged.
public struct ProcessMetrics: Sendable {
    public var residentMemoryBytes: Int
    public var virtualMemoryBytes: Int
    public var openFileDescriptors: Int
    public var maxFileDescriptors: Int?
    public var cpuSeconds: Double
    public var startTimeSeconds: Double

    /// Reads the current process's figures; nil off Linux or when `/proc` is not mounted.
    public static func current(procRoot: String = "/proc") -> ProcessMetrics? {
        guard let stat = try? String(contentsOfFile: "\(procRoot)/self/stat", encoding: .utf8),
            let bootTime = Self.bootTime(procRoot: procRoot)
        else { return nil }
        guard let fields = Self.statFields(stat), fields.count > 21 else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let utime = Double(fields[11]) ?? 0
        let stime = Double(fields[12]) ?? 0
        let startTicks = Double(fields[19]) ?? 0
        let virtual = Int(fields[20]) ?? 0
        let residentPages = Int(fields[21]) ?? 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "\(procRoot)/self/fd").count) ?? 0
        return ProcessMetrics(
            residentMemoryBytes: residentPages * pageSize,
            virtualMemoryBytes: virtual,
            openFileDescriptors: fds,
            maxFileDescriptors: Self.maxOpenFiles(procRoot: procRoot),
            cpuSeconds: (utime + stime) / ticks,
            startTimeSeconds: bootTime + startTicks / ticks
        )
    }

    /// The fields of `/proc/self/stat` after the command name, which may itself contain spaces and parentheses:
    /// index 0 is the state (field 3 in proc(5)).
    static func statFields(_ stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    static func bootTime(procRoot: String) -> Double? {
        guard let stat = try? String(contentsOfFile: "\(procRoot)/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func maxOpenFiles(procRoot: String) -> Int? {
        guard let limits = try? String(contentsOfFile: "\(procRoot)/self/limits", encoding: .utf8) else { return nil }
        for line in limits.split(separator: "\n") where line.hasPrefix("Max open files") {
            let columns = line.dropFirst("Max open files".count).split(separator: " ")
            return columns.first.flatMap { Int($0) }
        }
        return nil
    }

    /// The Prometheus text exposition of these figures.
    public var exposition: String {
        var text = ""
        func add(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", String(cpuSeconds))
        add("process_open_fds", "gauge", "Number of open file descriptors.", String(openFileDescriptors))
        if let maxFileDescriptors {
            add("process_max_fds", "gauge", "Maximum number of open file descriptors.", String(maxFileDescriptors))
        }
        add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", String(residentMemoryBytes))
        add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", String(virtualMemoryBytes))
        add("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", String(format: "%.2f", startTimeSeconds))
        return text
    }
}
