/// What a started role hands to the others (``Role/offers``).
///
/// Values go in only through ``offer(_:as:)``, whose signature ties each value to its declaration's type. The host
/// checks that a role offers exactly the capabilities its plugin declares in ``RolePlugin/offers``; a role that offers
/// more or fewer fails to start, naming both lists.
public struct CapabilityOffers: Sendable {
    private(set) var values: [String: (capability: AnyCapability, value: any Sendable)] = [:]

    public init() {}

    public mutating func offer<Value>(_ value: Value, as capability: Capability<Value>) {
        values[capability.name] = (AnyCapability(capability), value)
    }

    /// The capabilities offered, without their values.
    public var capabilities: Set<AnyCapability> { Set(values.values.map(\.capability)) }
}
