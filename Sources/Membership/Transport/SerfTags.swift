/// Node metadata as serf encodes tags (serf `serf/serf.go`, `encodeTags`/`decodeTags`): the magic byte 255, then
/// the tags as a msgpack map of strings. Metadata without the magic byte is serf 0.1's single role string.
public enum SerfTags {
    /// serf `tagMagicByte`.
    public static let magicByte: UInt8 = 255

    public static func encode(_ tags: [String: String]) -> [UInt8] {
        var writer = MessagePackWriter()
        writer.append(contentsOf: [magicByte])
        writer.writeMapHeader(tags.count)
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            writer.writeString(key)
            writer.writeString(value)
        }
        return writer.bytes
    }

    /// The tags in `meta`; empty for metadata that is neither serf's encoding nor a role string.
    public static func decode(_ meta: [UInt8]) -> [String: String] {
        guard let first = meta.first else { return [:] }
        guard first == magicByte else { return ["role": String(decoding: meta, as: UTF8.self)] }
        guard case .map(let pairs)? = try? MessagePackReader.decode(Array(meta.dropFirst())) else { return [:] }
        var tags: [String: String] = [:]
        for pair in pairs {
            if case .raw(let key) = pair.key, case .raw(let value) = pair.value {
                tags[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            }
        }
        return tags
    }
}
