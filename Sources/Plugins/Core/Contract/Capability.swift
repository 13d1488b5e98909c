/// The name and type of something one role offers to the others: the cache role's response-cache layer, the
/// gossip role's live membership view.
///
/// Keys are declared next to the type they carry, as static members, so that a provider and its users agree on
/// both without knowing each other:
///
/// ```swift
/// extension CapabilityKey where Value == any MembershipView {
///     public static var membership: Self { .init("membership") }
/// }
/// ```
public struct CapabilityKey<Value: Sendable>: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    public var description: String { name }
}

/// Capabilities offered by running roles, as a role sees them at start and after each reload.
public struct Capabilities: Sendable {
    struct Offer: Sendable {
        var provider: String
        /// Changes whenever the provider is (re)started, so users can tell a new instance from the old one.
        var generation: Int
        var value: any Sendable
    }

    var offers: [String: Offer] = [:]

    public init() {}

    /// The value offered under `key`, or nil when no running role offers it (or offers another type under it).
    public subscript<Value>(key: CapabilityKey<Value>) -> Value? {
        offers[key.name]?.value as? Value
    }

    /// Which provider instance stands behind each of `names`: equal fingerprints mean nothing a user sees changed.
    func fingerprint(of names: [String]) -> [String: Int] {
        var result: [String: Int] = [:]
        for name in names { result[name] = offers[name]?.generation }
        return result
    }
}

/// What a role hands to the others once started: values keyed by ``CapabilityKey``.
public struct CapabilityOffers: Sendable {
    var values: [String: any Sendable] = [:]

    public init() {}

    public mutating func offer<Value>(_ value: Value, as key: CapabilityKey<Value>) {
        values[key.name] = value
    }
}
