import Foundation

/// Packets and streams captured on loopback between two serf 0.9.4 agents (Debian's `serf`), kept in
/// `Tests/MembershipTests/Resources/serf-0.9.4` (see its `capture.sh`): `plain/` without encryption, `encrypted/`
/// with the key in `encrypted/key.base64`. File names say `udp|tcp-<index>-<source port>-<destination port>`.
enum CapturedTraffic {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Resources/serf-0.9.4")

    struct Capture {
        var name: String
        var bytes: [UInt8]
        var isStream: Bool { name.hasPrefix("tcp") }
    }

    static func captures(_ set: String) throws -> [Capture] {
        let folder = directory.appendingPathComponent(set)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".bin") }.sorted()
        return try names.map { Capture(name: $0, bytes: [UInt8](try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    static func key() throws -> String {
        try String(contentsOf: directory.appendingPathComponent("encrypted/key.base64"), encoding: .utf8)
    }
}
