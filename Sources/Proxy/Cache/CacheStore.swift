import NIOCore

/// Where a response cache keeps its objects: a directory on local disk, or an S3 bucket shared
/// by every sidecar (sidekick's "High Performance S3 Cache").
///
/// A store holds opaque objects, each a metadata block (the stored response's head and what
/// the cache needs to judge it, encoded by ``CacheEntryHead``) and a body. It never buffers
/// a body whole: bodies are read and written part by part, with backpressure both ways, so a
/// 5 GiB object passes with a few buffers resident.
///
/// An object becomes visible only once ``CacheStoreWriter/commit()`` has checked it complete
/// (disk: a temporary file renamed into place; S3: one `PUT` with `Content-Length`, or a
/// multipart upload completed); an aborted or failed fill leaves nothing behind, and two
/// fills of one name race harmlessly (the last commit wins, each whole).
///
/// Every future completes on the event loop passed in. A store that fails answers with a
/// failed future (``CacheStoreError`` or its own error); the cache then bypasses it, so a
/// store's faults never reach a client.
public protocol CacheStore: Sendable {
    /// The object stored under `name`, `nil` when there is none. A stored object that is
    /// corrupt or truncated is `nil` too, and removed.
    func open(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreObject?>

    /// Begins writing an object under `name`; nothing is visible under `name` before its
    /// ``CacheStoreWriter/commit()``. `bodyLength` is the body's length when known (the
    /// response's `Content-Length`): commit then fails unless exactly that many bytes came.
    func beginFill(
        _ name: CacheObjectName,
        metadata: ByteBuffer,
        bodyLength: Int?,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<any CacheStoreWriter>

    /// Replaces the metadata of the object stored under `name`, keeping its body (a `304`'s
    /// fields merged into the stored head, RFC 9111 4.3.4). Succeeds doing nothing when
    /// there is no such object.
    func replaceMetadata(_ name: CacheObjectName, metadata: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Removes the object stored under `name`, if any.
    func remove(_ name: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Removes what is stored for a URI: the object under its name `primary` and every variant
    /// of it (the names starting with it), answering how many went — a purge of the URL, or
    /// its invalidation by an unsafe request (RFC 9111 4.4).
    func removeVariants(of primary: CacheObjectName, on eventLoop: any EventLoop) -> EventLoopFuture<Int>

    /// Removes every object, answering how many went (a purge of the whole cache; purging
    /// one URL goes through ``remove(_:on:)``).
    func removeAll(on eventLoop: any EventLoop) -> EventLoopFuture<Int>

    /// The object stored under `name` when the store has it at hand, without I/O or waiting (a
    /// ``MemoryTier``'s copy); `nil` otherwise, and then ``open(_:on:)`` says.
    func heldObject(_ name: CacheObjectName) -> CacheStoreObject?

    /// False when the store knows at once, without I/O or waiting, that it holds nothing under `name` (the disk
    /// store's index); true when it may, and then ``open(_:on:)`` says. A miss then costs no store request.
    func mayHold(_ name: CacheObjectName) -> Bool

    /// Removes every object whose stored head's URI starts with `prefix`, answering how many
    /// went; `nil` when the store cannot find its objects by URI (S3: the names are hashes).
    func removeObjects(withURIPrefix prefix: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int>?

    /// Checks that the store can be used now (the disk store: its directory is writable;
    /// S3: the bucket answers, or the configured health path does).
    func checkHealth(on eventLoop: any EventLoop) -> EventLoopFuture<CacheStoreHealth>

    /// What the store holds, as far as it knows without asking anyone (an S3 store counts
    /// what it wrote and removed itself).
    var usage: CacheStoreUsage { get }

    /// Stops the store's own work (timers, connections); pending futures fail.
    func shutdown() -> EventLoopFuture<Void>
}

extension CacheStore {
    public func heldObject(_ name: CacheObjectName) -> CacheStoreObject? { nil }

    public func mayHold(_ name: CacheObjectName) -> Bool { true }

    public func removeObjects(withURIPrefix prefix: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int>? { nil }
}

/// The name of a stored object: 64 lower-case hex digits of a SHA-256 (sidekick names its S3
/// objects this way), safe as a file name and as an S3 key. A variant of a response with
/// `Vary` (its secondary key, RFC 9111 4.1) is named by its URI's name, `-`, and 64 more hex
/// digits: every variant of a URI starts with the URI's own name, so a store can find them all
/// by that prefix (a directory listing, an S3 `ListObjectsV2` with `prefix`) to purge or
/// invalidate the URI whole.
public struct CacheObjectName: Hashable, Sendable, CustomStringConvertible {
    public let hex: String
    /// The first 16 hex digits as a number: what the name hashes as (it is a SHA-256 already),
    /// so the indexes that look names up hash 8 bytes, not 64.
    private let leading: UInt64

    /// `hex` as given when it is 64 lower-case hex digits, or a variant's name (64, `-`, 64),
    /// else `nil`.
    public init?(hex: String) {
        let bytes = hex.utf8
        func isHex(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) }
        switch bytes.count {
        case 64:
            guard bytes.allSatisfy(isHex) else { return nil }
        case 129:
            for (offset, byte) in bytes.enumerated() {
                guard offset == 64 ? byte == UInt8(ascii: "-") : isHex(byte) else { return nil }
            }
        default:
            return nil
        }
        self.init(checkedHex: hex)
    }

    /// `hex` made here of 64 lower-case hex digits, or a variant's 129. A variant hashes as the
    /// first digits of its own part: every variant of a URI shares the URI's leading digits.
    init(checkedHex hex: String) {
        self.hex = hex
        var leading: UInt64 = 0
        let own = hex.utf8.count > 64 ? hex.utf8.dropFirst(65).prefix(16) : hex.utf8.prefix(16)
        for digit in own {
            leading = leading << 4 | UInt64(digit <= 0x39 ? digit - 0x30 : digit - 0x61 + 10)
        }
        self.leading = leading
    }

    public static func == (a: CacheObjectName, b: CacheObjectName) -> Bool {
        a.leading == b.leading && a.hex == b.hex
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(leading)
    }

    /// The name of a variant of the URI named `self` (which must be a URI's name).
    init(variantOf primary: CacheObjectName, hex: String) {
        self.init(checkedHex: primary.hex + "-" + hex)
    }

    /// Whether this names a variant of a URI rather than the URI itself.
    public var isVariant: Bool { hex.utf8.count == 129 }

    /// The name of the URI this is a variant of; itself for a URI's name.
    public var primary: CacheObjectName {
        isVariant ? CacheObjectName(checkedHex: String(hex.prefix(64))) : self
    }

    public var description: String { hex }
}

/// An object found in a store: its metadata, its body's length, and its body to read once. A reference: a hit
/// hands it down the lookup, and copying its five references at each step cost more than its one allocation.
public final class CacheStoreObject: Sendable {
    public let metadata: ByteBuffer
    public let bodyLength: Int
    /// Starts reading `length` bytes of the body from `offset` (within `0...bodyLength`).
    /// Called at most once; an object whose body is never read (a `HEAD`, a `304`, a `416`)
    /// is released with ``release``.
    public let readBody: @Sendable (_ offset: Int, _ length: Int) -> any CacheBodyReader
    /// Releases what the object holds (an open file, a response in flight) without reading.
    public let release: @Sendable () -> Void
    /// The metadata decoded, when the store keeps it so (a ``MemoryTier``'s copy): a hit then skips decoding it.
    public var head: CacheEntryHead? { decoded?.head }
    /// ``head``, shared: an object is copied on its way to the client, its decoded head only referenced.
    let decoded: DecodedHead?
    /// The whole body, when the store holds it in memory (a ``MemoryTier``'s copy): a hit then
    /// serves it at once instead of reading it.
    public let heldBody: ByteBuffer?

    public init(
        metadata: ByteBuffer,
        bodyLength: Int,
        readBody: @escaping @Sendable (_ offset: Int, _ length: Int) -> any CacheBodyReader,
        release: @escaping @Sendable () -> Void,
        head: CacheEntryHead? = nil,
        heldBody: ByteBuffer? = nil
    ) {
        self.metadata = metadata
        self.bodyLength = bodyLength
        self.readBody = readBody
        self.release = release
        self.decoded = head.map(DecodedHead.init)
        self.heldBody = heldBody
    }

    init(
        metadata: ByteBuffer,
        bodyLength: Int,
        readBody: @escaping @Sendable (_ offset: Int, _ length: Int) -> any CacheBodyReader,
        release: @escaping @Sendable () -> Void,
        decoded: DecodedHead?,
        heldBody: ByteBuffer?
    ) {
        self.metadata = metadata
        self.bodyLength = bodyLength
        self.readBody = readBody
        self.release = release
        self.decoded = decoded
        self.heldBody = heldBody
    }
}

/// A stored object's metadata decoded once and shared by every copy of the object, with its
/// head's lines as a plain hit sends them, encoded once too.
final class DecodedHead: Sendable {
    let head: CacheEntryHead
    let servedLines: ServedHeadLines?
    /// ``VaryValue/fieldNames(in:)`` of the head's fields, which every hit checks (RFC 9111 4.1).
    let varyFieldNames: [String]?

    init(_ head: CacheEntryHead) {
        self.head = head
        self.servedLines = ServedHeadLines(head)
        self.varyFieldNames = VaryValue.fieldNames(in: head.headers)
    }
}

/// A stored body being read, part by part.
public protocol CacheBodyReader: Sendable {
    /// The next part, `nil` after the last. Called again only once the previous future has
    /// completed, so a slow reader slows the store. Fails with
    /// ``CacheStoreError/truncated`` when the body ends before its length.
    func next(on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer?>
    /// Stops reading early (the client went away); releases the file or connection.
    func cancel()
}

/// An object being written: parts in, then a checked commit or an abort.
public protocol CacheStoreWriter: Sendable {
    /// Appends `part`; the future completes when the store can take the next one (a slow
    /// store slows the fill, and through it the backend read).
    func write(_ part: ByteBuffer) -> EventLoopFuture<Void>
    /// Makes the object visible under its name, once its length checks out; fails with
    /// ``CacheStoreError/lengthMismatch(expected:actual:)`` otherwise, leaving nothing.
    func commit() -> EventLoopFuture<Void>
    /// Drops what was written; nothing becomes visible.
    func abort()
}

/// Whether a store can be used, from its last check.
public struct CacheStoreHealth: Sendable, Equatable {
    public var isUp: Bool
    /// Why it is down, for `/v1/status` and the log.
    public var detail: String

    public init(isUp: Bool, detail: String = "") {
        self.isUp = isUp
        self.detail = detail
    }
}

/// What a store holds.
public struct CacheStoreUsage: Sendable, Equatable {
    public var objects: Int
    public var bytes: Int
    /// Objects removed to keep the store under its size.
    public var evictions: Int

    public init(objects: Int = 0, bytes: Int = 0, evictions: Int = 0) {
        self.objects = objects
        self.bytes = bytes
        self.evictions = evictions
    }
}

/// How a store fails in a way the cache distinguishes; stores may fail with their own errors
/// too (an I/O error, an S3 error response), all of which the cache treats as a fault.
public enum CacheStoreError: Error, Equatable, CustomStringConvertible {
    /// The body ended before its stated length.
    case truncated
    /// A fill's body did not have the length it was begun with.
    case lengthMismatch(expected: Int, actual: Int)
    /// The object is larger than the store takes.
    case tooLarge(Int)
    /// The store did not answer within the cache's timeout.
    case timedOut
    /// The store has been shut down.
    case shutDown
    /// The store refused or failed the request; `detail` says why.
    case failed(String)

    public var description: String {
        switch self {
        case .truncated: return "stored body is truncated"
        case .lengthMismatch(let expected, let actual): return "body has \(actual) bytes, expected \(expected)"
        case .tooLarge(let size): return "object of \(size) bytes is larger than the store takes"
        case .timedOut: return "store did not answer in time"
        case .shutDown: return "store is shut down"
        case .failed(let detail): return detail
        }
    }
}
