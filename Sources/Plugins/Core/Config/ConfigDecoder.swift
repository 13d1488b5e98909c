/// Decodes ``ConfigValue``s into typed settings, collecting every problem instead of stopping at the first.
///
/// A decoder is used by one thread for one file: roles receive it while their section is decoded and record
/// problems through it; the daemon turns the collected diagnostics into ``ConfigErrors``.
public final class ConfigDecoder {
    public private(set) var diagnostics: [ConfigDiagnostic] = []

    public init() {}

    public func record(_ diagnostic: ConfigDiagnostic) {
        diagnostics.append(diagnostic)
    }

    public func record(_ message: String, at location: SourceLocation) {
        record(ConfigDiagnostic(message, at: location))
    }

    /// Decodes `value`, recording any problem; nil when it did not decode.
    public func decode<T: ConfigDecodable>(_ type: T.Type = T.self, from value: ConfigValue) -> T? {
        do {
            return try T(from: value, in: self)
        } catch let diagnostic as ConfigDiagnostic {
            record(diagnostic)
        } catch {
            // ConfigProblemsRecorded: the nested decoder already recorded its problems.
        }
        return nil
    }

    /// Views `value` as a mapping, recording an error when it is something else. A null becomes an empty mapping,
    /// so `gossip:` with nothing under it means "all defaults".
    public func mapping(_ value: ConfigValue, describing what: String) -> ConfigMapping? {
        switch value.kind {
        case .mapping(let entries):
            return ConfigMapping(entries: entries, location: value.location, path: what, decoder: self)
        case .null:
            return ConfigMapping(entries: [], location: value.location, path: what, decoder: self)
        default:
            record("\(what) must be a mapping, found \(value.kindDescription)", at: value.location)
            return nil
        }
    }

    /// A mark to compare with later, to tell whether decoding a part of the file found problems.
    public var problemCount: Int { diagnostics.count }
}

/// A YAML mapping being decoded. Keys are consumed as they are read; ``finish()`` reports every key nobody read,
/// so a typo such as `helth:` is an error and never silently ignored.
public final class ConfigMapping {
    public let location: SourceLocation
    /// Dotted path of this mapping from the top of the file, for messages: `roles.proxy.health`.
    public let path: String
    public let decoder: ConfigDecoder
    private let entries: [ConfigValue.Entry]
    private var consumed: Set<String> = []

    init(entries: [ConfigValue.Entry], location: SourceLocation, path: String, decoder: ConfigDecoder) {
        self.entries = entries
        self.location = location
        self.path = path
        self.decoder = decoder
    }

    /// The raw value under `key`, marking it as known.
    public func value(_ key: String) -> ConfigValue? {
        consumed.insert(key)
        return entries.first { $0.key == key }?.value
    }

    /// The entries in file order, all marked as known: for mappings whose keys are names the user chooses.
    public func allEntries() -> [ConfigValue.Entry] {
        consumed.formUnion(entries.map(\.key))
        return entries
    }

    /// The decoded value under `key`; nil when absent (or null) or when it did not decode (recorded).
    public func optional<T: ConfigDecodable>(_ key: String, as type: T.Type = T.self) -> T? {
        guard let value = value(key) else { return nil }
        if case .null = value.kind { return nil }
        return decoder.decode(T.self, from: value)
    }

    /// The decoded value under `key`, or `fallback` when absent or when it did not decode (recorded).
    public func value<T: ConfigDecodable>(_ key: String, default fallback: T) -> T {
        optional(key, as: T.self) ?? fallback
    }

    /// The decoded value under `key`, recording "missing" when absent.
    public func required<T: ConfigDecodable>(_ key: String, as type: T.Type = T.self) -> T? {
        guard let value = value(key), value.kind != .null else {
            decoder.record("\(path) is missing required key '\(key)'", at: location)
            return nil
        }
        return decoder.decode(T.self, from: value)
    }

    /// The nested mapping under `key`; an absent key gives an empty mapping so that defaults apply.
    public func mapping(_ key: String) -> ConfigMapping? {
        let child = path.isEmpty ? key : "\(path).\(key)"
        guard let value = value(key) else {
            return ConfigMapping(entries: [], location: location, path: child, decoder: decoder)
        }
        return decoder.mapping(value, describing: child)
    }

    /// Records an error for each key that was never read, naming the keys that are allowed.
    public func finish() {
        let known = consumed.sorted()
        for entry in entries where !consumed.contains(entry.key) {
            var message = "unknown key '\(entry.key)'" + (path.isEmpty ? "" : " in \(path)")
            if let suggestion = Self.closest(to: entry.key, in: known) {
                message += " (did you mean '\(suggestion)'?)"
            } else if !known.isEmpty {
                message += " (known keys: \(known.joined(separator: ", ")))"
            }
            decoder.record(message, at: entry.keyLocation)
        }
    }

    /// The known key within edit distance 2 of a mistyped one, if exactly one is that close.
    static func closest(to key: String, in known: [String]) -> String? {
        let scored = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return scored.filter { $0.1 == best.1 }.count == 1 ? best.0 : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = a[i - 1] == b[j - 1] ? previous : 1 + min(previous, row[j], row[j - 1])
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
