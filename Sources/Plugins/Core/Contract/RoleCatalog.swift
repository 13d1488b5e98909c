/// The roles this build provides, by name.
public struct RoleCatalog: Sendable {
    public private(set) var plugins: [AnyRolePlugin]

    public init(_ plugins: [AnyRolePlugin]) {
        self.plugins = plugins
    }

    public subscript(name: String) -> AnyRolePlugin? {
        plugins.first { $0.name == name }
    }

    public var names: [String] { plugins.map(\.name) }

    /// `names` ordered so that every role comes after the roles offering capabilities it uses; nil when the
    /// capabilities form a cycle. Ties keep catalog order, so the order is the same on every run.
    public func startOrder(of names: [String]) -> [String]? {
        let present = plugins.filter { names.contains($0.name) }
        var placed: [String] = []
        var remaining = present
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { candidate in
                remaining.allSatisfy { other in
                    other.name == candidate.name || Set(other.offers).isDisjoint(with: candidate.uses)
                }
            }) else { return nil }
            placed.append(remaining.remove(at: next).name)
        }
        return placed
    }

    /// Roles among `names` that use a capability `provider` offers.
    func dependents(of provider: String, among names: [String]) -> [String] {
        guard let offers = self[provider]?.offers, !offers.isEmpty else { return [] }
        return names.filter { name in
            name != provider && !(self[name].map { Set($0.uses).isDisjoint(with: offers) } ?? true)
        }
    }
}
