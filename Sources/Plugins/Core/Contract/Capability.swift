/// Something one role offers the others, named and typed: the gossip role's live membership view, the cache role's
/// response-cache layer.
///
/// This is the one declaration of a capability. The provider's plugin names it in ``RolePlugin/offers`` and its role
/// offers the value under it (``CapabilityOffers/offer(_:as:)``); a user's plugin names it in
/// ``RolePlugin/uses(for:)`` and its role reads the value with it (``Capabilities/subscript(_:)``). The host orders
/// roles by it, so a provider starts before its users. Because the value's type travels with the declaration, the
/// compiler checks it at both ends. Declare each capability once, as a static member next to the type it carries:
///
/// ```swift
/// extension Capability where Value == any MembershipView {
///     public static var membership: Self { .init("membership") }
/// }
/// ```
///
/// Two declarations with one name and different value types are a bug: `check-config` reports the roles whose
/// declarations disagree, and reading a value through the wrong one stops the process (``Capabilities``).
public struct Capability<Value: Sendable>: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    public var description: String { name }
}
