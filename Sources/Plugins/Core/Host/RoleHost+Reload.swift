extension RoleHost {
    /// Applies a new, already validated set of roles: stops removed and disabled roles, reconfigures changed ones
    /// (restarting those that ask for it), starts new ones, and tells users of capabilities whose provider changed.
    ///
    /// Waits for any other operation first. When the daemon's stop begins meanwhile, roles being removed are still
    /// stopped, but nothing more is started or reconfigured (``ReloadFailure/daemonStopping``).
    public func reload(_ declarations: [RoleDeclaration], shutdownGrace: Duration) async -> ReloadOutcome {
        await waitForTurn()
        defer { endTurn() }
        var outcome = ReloadOutcome()
        guard !isDraining else {
            outcome.record(.daemonStopping)
            return outcome
        }
        guard let newOrder = catalog.startOrder(of: declarations) else {
            outcome.record(.capabilityCycle)
            return outcome
        }
        environment.shutdownGrace = shutdownGrace
        stopClock.withLock { $0.grace = shutdownGrace }
        let wanted = Dictionary(declarations.map { ($0.name, $0) }, uniquingKeysWith: { $1 })

        for name in order.reversed() {
            guard let slot = slots[name], wanted[name]?.enabled != true else { continue }
            if slot.role != nil, slot.state == .running || slot.state == .stopping {
                await stop(name, retiring: true)
                outcome.stopped.append(name)
            }
            slots[name]?.retire?.finish()
            environment.routes.removeAll(role: name)
            recordDown(name)
            slots[name] = wanted[name].map { Slot(declaration: $0, state: .disabled) }
        }

        for name in newOrder {
            guard let declaration = wanted[name] else { continue }
            guard !isDraining else {
                outcome.record(.daemonStopping)
                break
            }
            await apply(declaration, into: &outcome)
        }

        for declaration in declarations where !declaration.enabled && slots[declaration.name] == nil {
            slots[declaration.name] = Slot(declaration: declaration, state: .disabled)
        }
        let disabled = declarations.filter { !$0.enabled }.map(\.name)
        order = (newOrder + disabled).filter { slots[$0] != nil }
        // A role left out of the new order while it still runs (the stop interrupted the reload) stays known, so
        // that the stop drains and stops it too.
        order += slots.keys.filter { !order.contains($0) && slots[$0]?.role != nil }.sorted()
        await notifyCapabilityUsers()
        return outcome
    }

    /// Brings one enabled role to its new declaration: leaves it alone, reconfigures it, restarts it, or starts it.
    private func apply(_ declaration: RoleDeclaration, into outcome: inout ReloadOutcome) async {
        let name = declaration.name
        guard let slot = slots[name], slot.state != .disabled else {
            await launchDuringReload(declaration, into: &outcome, as: \.started)
            return
        }
        if slot.declaration == declaration {
            outcome.unchanged.append(name)
            return
        }
        guard let role = slot.role, slot.state == .running else {
            // A failed role whose section changed gets another try with the new settings.
            slot.retire?.finish()
            await launchDuringReload(declaration, into: &outcome, as: \.restarted)
            return
        }
        let result: Reconfiguration
        do {
            result = try await role.reconfigure(to: declaration.settings)
        } catch {
            outcome.record(.keptPreviousSettings(role: name, reason: String(describing: error)))
            return
        }
        // The role may have failed, or the daemon begun to stop, while it took the settings: a failed role keeps
        // its old declaration, so that the same file reloaded again restarts it instead of finding it unchanged.
        guard slots[name]?.generation == slot.generation, slots[name]?.state == .running else {
            outcome.record(.failedWhileReconfiguring(role: name))
            return
        }
        switch result {
        case .applied:
            slots[name]?.declaration = declaration
            outcome.reconfigured.append(name)
        case .restartRequired:
            guard !isDraining else {
                outcome.record(.daemonStopping)
                return
            }
            await stop(name, retiring: true)
            await launchDuringReload(declaration, into: &outcome, as: \.restarted)
        }
    }

    private func launchDuringReload(
        _ declaration: RoleDeclaration,
        into outcome: inout ReloadOutcome,
        as list: WritableKeyPath<ReloadOutcome, [String]>
    ) async {
        do {
            let service = try await launch(declaration)
            await serviceSink?(service)
            outcome[keyPath: list].append(declaration.name)
        } catch let failure as ReloadFailure {
            outcome.record(failure)
        } catch let failure as RoleStartFailure {
            outcome.record(.notStarted(failure))
        } catch {
            outcome.record(.notStarted(RoleStartFailure(role: declaration.name, error: error)))
        }
    }
}
