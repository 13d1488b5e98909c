/// A memberlist message body: a Go struct that go-msgpack writes as a map keyed by its field names (memberlist
/// `net.go`, the structs `ping` … `pushNodeState`), in the byte order of the names: go-msgpack v0.5 keeps a
/// struct's fields sorted by name (`codec/helper.go`, `sfiSortedByEncName`) and a struct written as a map uses
/// that sorted list (`codec/encode.go`, `kStruct`: "if toMap, use the sorted array"),
/// which the packets captured from serf 0.9.4 show (`Addr, Incarnation, Meta, Node, Port, Vsn` for `alive`).
public protocol MessageBody: Sendable, Equatable {
    /// The Go type's name, for errors.
    static var goName: String { get }
    init(fields: MessagePackFields) throws(WireError)
    func write(to writer: inout MessagePackWriter)
}

extension MessageBody {
    /// Decodes the body from one msgpack value (a map).
    public init(messagePack value: MessagePackValue) throws(WireError) {
        try self.init(fields: MessagePackFields(value, context: Self.goName))
    }

    /// Decodes the body from bytes that hold exactly one msgpack map.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        try self.init(messagePack: MessagePackReader.decode(bytes))
    }

    /// The body alone, as go-msgpack writes it.
    public var messagePack: [UInt8] {
        var writer = MessagePackWriter()
        write(to: &writer)
        return writer.bytes
    }
}
