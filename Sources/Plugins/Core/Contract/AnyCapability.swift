/// A ``Capability`` with its value type kept as data: what plugins declare they offer and use, so the host can order
/// roles and compare declarations without knowing the types.
///
/// Equal only when both the name and the value type are, so a capability declared twice with different types never
/// passes for one.
public struct AnyCapability: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    private let valueType: ObjectIdentifier
    /// The value type as Swift prints it, for messages.
    public let valueTypeName: String

    public init<Value>(_ capability: Capability<Value>) {
        name = capability.name
        valueType = ObjectIdentifier(Value.self)
        valueTypeName = String(describing: Value.self)
    }

    /// Whether `capability` is this one, type included.
    func matches<Value>(_ capability: Capability<Value>) -> Bool {
        name == capability.name && valueType == ObjectIdentifier(Value.self)
    }

    public var description: String { name }
}
