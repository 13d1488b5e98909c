/// Which of a key's values a read returns: `latest` (the default, what hedge's `Get` gives), `all`, `oldest`, or
/// the newest `N`. Whatever the choice, the values come oldest first.
public enum LogLimit: Sendable, Hashable, CustomStringConvertible {
    case latest
    case all
    case oldest
    case newest(Int)

    /// Reads `latest`, `all`, `oldest` or a positive count; nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "latest": self = .latest
        case "all": self = .all
        case "oldest": self = .oldest
        default:
            guard let count = Int(text), count > 0 else { return nil }
            self = count == 1 ? .latest : .newest(count)
        }
    }

    /// The most values this limit returns; nil for all.
    public var count: Int? {
        switch self {
        case .latest, .oldest: 1
        case .all: nil
        case .newest(let count): count
        }
    }

    /// The chosen entries of `entries` (oldest first), oldest first.
    public func apply<Entries: BidirectionalCollection>(to entries: Entries) -> [Entries.Element] {
        switch self {
        case .all: Array(entries)
        case .oldest: Array(entries.prefix(1))
        case .latest: Array(entries.suffix(1))
        case .newest(let count): Array(entries.suffix(count))
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest"
        case .all: "all"
        case .oldest: "oldest"
        case .newest(let count): String(count)
        }
    }
}
