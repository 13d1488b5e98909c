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

    /// The capabilities `declaration` reads with its settings; none for a role this build does not have.
    func uses(of declaration: RoleDeclaration) -> [CapabilityUse] {
        self[declaration.name]?.uses(of: declaration.settings) ?? []
    }

    /// The enabled roles among `declarations`, ordered so that every role comes after the roles offering
    /// capabilities it uses, required or optional; nil when the capabilities form a cycle. Ties keep catalog order,
    /// so the order is the same on every run.
    public func startOrder(of declarations: [RoleDeclaration]) -> [String]? {
        let enabled = declarations.filter(\.enabled)
        var remaining = plugins.compactMap { plugin in enabled.first { $0.name == plugin.name } }
        var placed: [String] = []
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { candidate in
                remaining.allSatisfy { other in other.name == candidate.name || !uses(offersOf: other.name, candidate) }
            }) else { return nil }
            placed.append(remaining.remove(at: next).name)
        }
        return placed
    }

    /// Roles among `declarations` that use a capability `provider` offers.
    func dependents(of provider: String, among declarations: [RoleDeclaration]) -> [String] {
        declarations.filter { $0.name != provider && uses(offersOf: provider, $0) }.map(\.name)
    }

    /// Whether `user` reads a capability the role named `provider` offers, by name: a type disagreement is reported
    /// by ``capabilityProblems(in:rolesAt:)``, not taken for independence.
    private func uses(offersOf provider: String, _ user: RoleDeclaration) -> Bool {
        let offered = Set(self[provider]?.offers.map(\.name) ?? [])
        return uses(of: user).contains { offered.contains($0.capability.name) }
    }
}
