/// serf's node metadata: its tags as memberlist's `Meta` (serf `serf/serf.go`, `encodeTags` / `decodeTags`):
/// the magic byte 0xff, then the tags as a msgpack map of strings; metadata without the magic byte is the
/// pre-protocol-3 form, the whole of it the `role` tag. Encoded tags must fit memberlist's 512-byte
/// `MetaMaxSize` (serf's `NodeMeta` panics past it; here it is an error the configuration reports).
public enum SerfTags {
    static let magicByte: UInt8 = 0xff

    public static func encode(_ tags: [String: String]) throws(WireError) -> [UInt8] {
        var writer = MessagePackWriter()
        writer.append(contentsOf: [magicByte])
        writer.writeMapHeader(tags.count)
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            writer.writeString(key)
            writer.writeString(value)
        }
        guard writer.bytes.count <= Alive.maximumMetaSize else {
            throw .tooLarge(what: "tags encoded as node metadata (bytes)", length: writer.bytes.count, limit: Alive.maximumMetaSize)
        }
        return writer.bytes
    }

    public static func decode(_ meta: [UInt8]) throws(WireError) -> [String: String] {
        guard meta.first == magicByte else { return ["role": String(decoding: meta, as: UTF8.self)] }
        let value = try MessagePackReader.decode(Array(meta.dropFirst()))
        guard case .map(let pairs) = value else { throw .wrongType(field: "tags", expected: "a map of strings") }
        var tags: [String: String] = [:]
        for pair in pairs {
            guard case .raw(let key) = pair.key, case .raw(let text) = pair.value else {
                throw .wrongType(field: "tags", expected: "a map of strings")
            }
            tags[String(decoding: key, as: UTF8.self)] = String(decoding: text, as: UTF8.self)
        }
        return tags
    }
}
