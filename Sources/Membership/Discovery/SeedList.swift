import Foundation

/// The seed document load balancers publish and new members join through: scrimplb's
/// `{"seeds":[{"address":"10.0.0.5","port":7946}]}` (its S3 seed provider), read from a file or an S3 object.
///
/// outrider adds `updated` (Unix seconds) to each entry it writes, so that a load balancer that is gone for good
/// ages out of the document instead of being tried by every new member forever; entries without it (written by
/// scrimplb or by hand) are kept as they are. scrimplb's ports may be numbers or strings (its JSON configuration
/// writes ports as strings); both are read, numbers are written.
public struct SeedList: Sendable, Equatable {
    public struct Entry: Sendable, Equatable, Hashable, Encodable {
        public var address: String
        public var port: Int
        /// When the publisher last wrote it, in seconds since 1970; nil when the writer did not say.
        public var updated: Int64?

        public init(address: String, port: Int, updated: Int64? = nil) {
            self.address = address
            self.port = port
            self.updated = updated
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// The largest document read: a seed list of a few load balancers is a few hundred bytes.
    public static let maximumSize = 1 << 20
    /// The most entries kept when publishing, the newest first, so that a document can never grow without bound.
    public static let maximumEntries = 256

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads any bytes: a document that is not scrimplb's shape fails with the reason; an entry without a usable
    /// address or port (1–65535) fails too, naming its index, so that a broken seed source is noticed, not
    /// silently empty.
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> SeedList {
        guard bytes.count <= maximumSize else { throw DecodingError("larger than \(maximumSize) bytes") }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch let error as Swift.DecodingError {
            throw DecodingError(Self.describe(error))
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError("\(error)")
        }
        var entries: [Entry] = []
        for (index, item) in (document.seeds ?? []).enumerated() {
            guard !item.address.isEmpty, item.address.utf8.count <= 255 else { throw DecodingError("seeds[\(index)] has an empty or overlong address") }
            guard (1...65535).contains(item.port.value) else { throw DecodingError("seeds[\(index)] has port \(item.port.value), not 1-65535") }
            entries.append(Entry(address: item.address, port: item.port.value, updated: item.updated))
        }
        return SeedList(entries: entries)
    }

    private struct Document: Decodable {
        var seeds: [Item]?
    }

    private struct Item: Decodable {
        var address: String
        var port: Port
        var updated: Int64?
    }

    /// A port as a JSON number or as a string of digits.
    private struct Port: Decodable {
        var value: Int

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                value = number
            } else if let text = try? container.decode(String.self), let number = Int(text) {
                value = number
            } else {
                throw Swift.DecodingError.dataCorruptedError(in: container, debugDescription: "not a number or a string of digits")
            }
        }
    }

    /// Foundation's decoding error as one line naming where: `seeds[1].address: missing`.
    private static func describe(_ error: Swift.DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "the document" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// The document, its entries in their order, one canonical form for a list (keys sorted, one line).
    public func encoded() -> [UInt8] {
        struct Written: Encodable { var seeds: [Entry] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and arrays of them always encode.
        let document = (try? encoder.encode(Written(seeds: entries))) ?? Data("{\"seeds\":[]}".utf8)
        return Array(document) + [0x0a]
    }

    /// This list after a publisher at `address`:`port` wrote itself at `now`: its own earlier entry replaced,
    /// every other publisher's entry kept unless its `updated` is more than `maximumAge` seconds before `now`,
    /// the newest first and at most ``maximumEntries``. scrimplb overwrites the object with its one address; this
    /// is the read-modify-write the issue asks for instead, the write itself made conditional by the caller.
    public func publishing(address: String, port: Int, now: Int64, maximumAge: Int64) -> SeedList {
        var kept = entries.filter { entry in
            if entry.address == address && entry.port == port { return false }
            guard let updated = entry.updated else { return true }
            return now - updated <= maximumAge
        }
        kept.insert(Entry(address: address, port: port, updated: now), at: 0)
        // Stable: entries of equal age keep the order they had.
        let ordered = kept.enumerated().sorted { left, right in
            let (a, b) = (left.element.updated ?? Int64.min, right.element.updated ?? Int64.min)
            return a != b ? a > b : left.offset < right.offset
        }.map(\.element)
        return SeedList(entries: Array(ordered.prefix(Self.maximumEntries)))
    }

    /// The list without `address`:`port`'s entry, the rest as it was: a publisher leaving the cluster gracefully
    /// takes its own address out, so that joining members do not try it until it ages out.
    public func withdrawing(address: String, port: Int) -> SeedList {
        SeedList(entries: entries.filter { $0.address != address || $0.port != port })
    }

    /// Whether the list has a current entry for `address`:`port`.
    public func contains(address: String, port: Int) -> Bool {
        entries.contains { $0.address == address && $0.port == port }
    }
}
