/// A capability a role reads, and whether its settings cannot do without it. Computed from the role's decoded
/// settings (``RolePlugin/uses(for:)``): a proxy whose pools come from gossip requires the membership capability, one
/// with fixed pools does not use it at all.
public struct CapabilityUse: Sendable, Equatable, CustomStringConvertible {
    public enum Need: Sendable, Equatable {
        /// The role does more when a provider runs, and runs without one.
        case optional
        /// The settings ask for something only a provider gives. `check-config` fails, pointing at `location` (the
        /// setting that asks), when no enabled role offers the capability; the host does not start the role while no
        /// running role offers it.
        case required(by: SourceLocation)
    }

    public let capability: AnyCapability
    public let need: Need

    public init(_ capability: AnyCapability, need: Need) {
        self.capability = capability
        self.need = need
    }

    public static func optional<Value>(_ capability: Capability<Value>) -> CapabilityUse {
        CapabilityUse(AnyCapability(capability), need: .optional)
    }

    public static func required<Value>(_ capability: Capability<Value>, by location: SourceLocation) -> CapabilityUse {
        CapabilityUse(AnyCapability(capability), need: .required(by: location))
    }

    public var isRequired: Bool {
        if case .required = need { return true }
        return false
    }

    public var description: String { isRequired ? "\(capability) (required)" : "\(capability)" }
}
