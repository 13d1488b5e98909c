#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Tells the service manager about the daemon's lifecycle, as `sd_notify(3)` does, without linking libsystemd.
///
/// systemd starts a `Type=notify` service with `NOTIFY_SOCKET` set to an `AF_UNIX` datagram socket: a file
/// system path (`/run/systemd/notify`) or, when it starts with `@`, a name in the abstract namespace. Each
/// notification is one datagram of newline-separated `KEY=value` assignments (`sd_notify(3)`, "Notes"). Nothing
/// is sent when the variable is unset, so the daemon runs the same way from a shell. `vsock:` addresses
/// (systemd 254+, for virtual machines) are not supported: outrider runs as a service on the host.
///
/// Failures to send are reported to the caller and otherwise ignored, as `sd_notify` does: a daemon must not stop
/// because its service manager went away.
struct SystemdNotifier: Sendable {
    /// The socket as named in `NOTIFY_SOCKET`: an absolute path, or `@name` for the abstract namespace.
    let socketName: String

    /// `nil` when `socketName` is neither an absolute path nor an abstract name, or is too long for `sun_path`.
    init?(socketName: String) {
        guard socketName.hasPrefix("/") || (socketName.hasPrefix("@") && socketName.utf8.count > 1) else {
            return nil
        }
        // A path needs its terminating NUL inside `sun_path`; an abstract name's leading NUL replaces the `@`.
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        let needed = socketName.hasPrefix("@") ? socketName.utf8.count : socketName.utf8.count + 1
        guard needed <= capacity else {
            return nil
        }
        self.socketName = socketName
    }

    /// The notifier for the socket named by `NOTIFY_SOCKET`, or `nil` when the daemon is not run by systemd with
    /// `Type=notify` (the variable is unset, empty, or names an address this type does not support).
    static func fromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) -> SystemdNotifier? {
        guard let name = env["NOTIFY_SOCKET"], !name.isEmpty else {
            return nil
        }
        return SystemdNotifier(socketName: name)
    }

    /// Sends `state`, one or more newline-separated assignments such as `READY=1`, as one datagram.
    ///
    /// - Returns: whether the whole datagram was sent.
    @discardableResult
    func notify(_ state: String) -> Bool {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else {
            return false
        }
        defer { close(fd) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let nameBytes = Array(socketName.utf8)
        let abstract = nameBytes.first == UInt8(ascii: "@")
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path.copyBytes(from: nameBytes)
            if abstract {
                path[0] = 0
            }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        // An abstract name is exactly as long as its bytes (no terminating NUL), so the length must say so.
        let length = socklen_t(pathOffset + nameBytes.count + (abstract ? 0 : 1))

        let payload = Array(state.utf8)
        let sent = payload.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(fd, bytes.baseAddress, bytes.count, Self.sendFlags, socketAddress, length)
                }
            }
        }
        return sent == payload.count
    }

    #if os(Linux)
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let sendFlags: Int32 = 0
    #endif
}

extension SystemdNotifier {
    /// Start-up is complete: systemd marks the unit active and starts the units ordered after it.
    @discardableResult
    func ready() -> Bool {
        notify("READY=1")
    }

    /// A reload (SIGHUP) has begun; send `ready()` when the new configuration is in effect.
    ///
    /// `MONOTONIC_USEC` lets systemd 253+ match this message to the reload it asked for, which
    /// `Type=notify-reload` requires; older versions ignore it.
    ///
    /// - Parameter monotonicMicroseconds: `CLOCK_MONOTONIC` at the start of the reload.
    @discardableResult
    func reloading(monotonicMicroseconds: UInt64 = SystemdNotifier.monotonicMicroseconds()) -> Bool {
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds)")
    }

    /// Graceful shutdown has begun.
    @discardableResult
    func stopping() -> Bool {
        notify("STOPPING=1")
    }

    /// A one-line status shown by `systemctl status`. Line breaks would start new assignments, so they become
    /// spaces.
    @discardableResult
    func status(_ text: String) -> Bool {
        let line = text.map { $0.isNewline ? " " : String($0) }.joined()
        return notify("STATUS=\(line)")
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock systemd uses for `MONOTONIC_USEC`.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
