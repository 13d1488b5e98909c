#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What tells a file changed: modification time, size and inode (a rename-into-place swap, as certbot and
/// cert-manager do, changes the inode even within one second).
public struct FileFingerprint: Equatable, Sendable {
    public var modified: Int64
    public var modifiedNanoseconds: Int64
    public var size: Int64
    public var inode: UInt64

    /// Nil when the file cannot be looked at (missing, or a directory on the way is not searchable).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        modified = Int64(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
        #else
        modified = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        #endif
        size = Int64(info.st_size)
        inode = UInt64(info.st_ino)
    }

    /// The fingerprints of the files that exist among `paths`.
    public static func of(_ paths: [String]) -> [FileFingerprint] {
        paths.compactMap { FileFingerprint(path: $0) }
    }
}
