extension RoleCatalog {
    /// What `check-config` reports about the capabilities of the enabled roles among `declarations`: a required
    /// capability no enabled role offers (at the setting that requires it), a capability whose user and provider
    /// declare different value types (a bug in one of the two roles), and a cycle.
    func capabilityProblems(in declarations: [RoleDeclaration], rolesAt rolesLocation: SourceLocation) -> [ConfigDiagnostic] {
        let enabled = declarations.filter(\.enabled)
        var problems: [ConfigDiagnostic] = []
        for user in enabled {
            for use in uses(of: user) {
                let providers = enabled.filter { $0.name != user.name }.compactMap { self[$0.name] }
                if let provider = providers.first(where: { $0.offers.contains { $0.name == use.capability.name } }) {
                    guard let offered = provider.offers.first(where: { $0.name == use.capability.name }),
                        offered != use.capability
                    else { continue }
                    problems.append(ConfigDiagnostic(
                        "roles.\(user.name) reads the \(use.capability) capability as \(use.capability.valueTypeName), but role \(provider.name) offers it as \(offered.valueTypeName): the two roles' declarations disagree (a bug in this build)",
                        at: location(of: use) ?? rolesLocation
                    ))
                } else if let location = location(of: use) {
                    let offering = plugins.filter { $0.name != user.name && $0.offers.contains(use.capability) }.map(\.name)
                    let hint = offering.isEmpty ? "no role in this build offers it" : "enable \(offering.joined(separator: " or "))"
                    problems.append(ConfigDiagnostic(
                        "roles.\(user.name) needs the \(use.capability) capability, which no enabled role offers (\(hint))",
                        at: location
                    ))
                }
            }
        }
        for provider in enabled {
            guard let plugin = self[provider.name], let served = plugin.serves else { continue }
            let used = enabled.contains { user in
                user.name != provider.name && uses(of: user).contains { use in plugin.offers.contains { $0.name == use.capability.name } }
            }
            if !used {
                let offered = plugin.offers.map(\.name).joined(separator: ", ")
                problems.append(ConfigDiagnostic(
                    "roles.\(provider.name) needs the \(served) role: it serves only through \(offered), which no enabled role uses",
                    at: rolesLocation
                ))
            }
        }
        if startOrder(of: enabled) == nil {
            problems.append(ConfigDiagnostic("the enabled roles use each other's capabilities in a cycle", at: rolesLocation))
        }
        return problems
    }

    private func location(of use: CapabilityUse) -> SourceLocation? {
        guard case .required(let location) = use.need else { return nil }
        return location
    }
}
