import Foundation

/// A size in bytes written with a unit: `64KiB`, `1MB`, `32MiB`, or a bare number of bytes.
///
/// SI units (`kB`/`KB`, `MB`, `GB`, `TB`) are powers of 1000 and IEC units (`KiB`, `MiB`, `GiB`, `TiB`) powers
/// of 1024, as the units themselves say; a bare `K` or `M` is refused because users mean either.
public struct ByteSize: Sendable, Hashable, Comparable, ConfigDecodable, CustomStringConvertible {
    public var bytes: Int

    public init(bytes: Int) {
        self.bytes = bytes
    }

    public init(from value: ConfigValue, in decoder: ConfigDecoder) throws {
        self = try value.parsed(expecting: "a size such as 64KiB", with: Self.parse)
    }

    public struct ParseError: ConfigSyntaxError, Sendable, Equatable {
        public var message: String
    }

    private static let units: [String: Int] = [
        "B": 1,
        "kB": 1000, "KB": 1000, "MB": 1_000_000, "GB": 1_000_000_000, "TB": 1_000_000_000_000,
        "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
    ]

    public static func parse(_ text: String) throws(ParseError) -> ByteSize {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
        guard let amount = Double(number), !number.isEmpty else {
            throw ParseError(message: "invalid size '\(text)': use a number and a unit, such as 512KiB, 1MB or 32MiB")
        }
        guard let multiplier = unit.isEmpty ? 1 : units[unit] else {
            throw ParseError(message: "invalid size '\(text)': unknown unit '\(unit)' (use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)")
        }
        let bytes = amount * Double(multiplier)
        guard bytes < Double(Int.max), bytes == bytes.rounded() else {
            throw ParseError(message: "invalid size '\(text)': not a whole number of bytes")
        }
        return ByteSize(bytes: Int(bytes))
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    public var description: String {
        for (unit, size) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)B"
    }
}
