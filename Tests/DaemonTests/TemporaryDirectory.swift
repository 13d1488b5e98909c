import Foundation

/// A directory of one test's own, removed with the value. `mkdtemp` picks a name no other test, run or process
/// holds, as the tests run in parallel; it stays short, as a socket path inside it must fit `sun_path`.
final class TemporaryDirectory: Sendable {
    let url: URL

    init(prefix: String) throws {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)XXXXXX").path.utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let created else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        url = URL(fileURLWithPath: created, isDirectory: true)
    }

    /// The path of `name` inside the directory.
    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
