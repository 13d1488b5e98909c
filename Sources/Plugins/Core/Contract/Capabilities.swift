/// The capabilities offered by running roles, as a role sees them when it is built and after each change
/// (``Role/capabilitiesChanged(_:)``).
///
/// What a user may assume about a value it read here:
///
/// - A value stays safe to call after its provider has stopped: it must not crash or hang, but it no longer changes
///   (a membership view keeps its last members and its change streams finish). A provider must offer values that
///   behave so, because its users may still hold them.
/// - The host tells users that a provider went away only after it has stopped: on a reload that removes or restarts
///   the provider, when it fails while running, never before. Between the two, a user may be working with a value
///   from a provider that has stopped, and must treat what it reads as possibly stale.
/// - When the daemon stops, users stop before their providers, so a provider does not go away under a running user
///   then (only a provider failing can).
/// - A required capability (``CapabilityUse/Need/required(by:)``) is present when the role is built. It is absent
///   later only if its provider failed or stopped; the role hears of it through ``Role/capabilitiesChanged(_:)``.
public struct Capabilities: Sendable {
    struct Offer: Sendable {
        var capability: AnyCapability
        var provider: String
        /// Changes whenever the provider is (re)started, so users can tell a new instance from the old one.
        var generation: Int
        var value: any Sendable
    }

    var offers: [String: Offer] = [:]

    public init() {}

    /// The value offered under `capability`, or nil when no running role offers it.
    ///
    /// A value offered under the same name with another type is a bug in one of the two roles' declarations, never
    /// an absent capability: it stops the process with a message naming both types (`check-config` reports such
    /// declarations before anything runs).
    public subscript<Value>(capability: Capability<Value>) -> Value? {
        guard let offer = offers[capability.name] else { return nil }
        guard offer.capability.matches(capability), let value = offer.value as? Value else {
            preconditionFailure(
                "capability '\(capability.name)' is offered by role \(offer.provider) as \(offer.capability.valueTypeName) but read as \(Value.self)"
            )
        }
        return value
    }

    /// Which provider instance stands behind each of `names`: equal fingerprints mean nothing a user sees changed.
    func fingerprint(of names: [String]) -> [String: Int] {
        var result: [String: Int] = [:]
        for name in names { result[name] = offers[name]?.generation }
        return result
    }
}
