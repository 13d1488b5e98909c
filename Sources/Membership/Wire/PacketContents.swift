/// The messages a packet carries once its frame is opened (``PacketFrame/open(_:)``), with compounds and
/// compressed messages unpacked as memberlist's `handleCommand` does (`net.go`: a compound's parts and a
/// decompressed payload go back through `handleCommand`). A part that does not decode is recorded and the
/// others are still read, as memberlist logs it and goes on; nesting is limited to ``maximumNesting``.
public struct PacketContents: Sendable, Equatable {
    public static let maximumNesting = 4

    public var messages: [Message] = []
    /// Why parts were skipped, in order.
    public var failures: [WireError] = []
    /// Parts declared by compounds that did not fit in the packet.
    public var truncated = 0

    public init(_ bytes: [UInt8]) {
        unpack(bytes, depth: 0)
    }

    private mutating func unpack(_ bytes: [UInt8], depth: Int) {
        guard depth <= Self.maximumNesting else {
            failures.append(.tooDeep(limit: Self.maximumNesting))
            return
        }
        do {
            switch try Message.decode(bytes) {
            case .compound(let compound):
                truncated += compound.truncated
                for part in compound.parts { unpack(part, depth: depth + 1) }
            case .compress(let compressed):
                unpack(try compressed.decompressed(maximumOutput: 2 * 64 * 1024), depth: depth + 1)
            case .hasCRC(let inner):
                unpack(inner, depth: depth + 1)
            case let message:
                messages.append(message)
            }
        } catch {
            failures.append(error)
        }
    }
}
