extension RoleHost {
    /// Notes that the daemon's graceful stop has begun: `/healthz` turns 503, the shutdown grace starts counting,
    /// and an operation under way starts nothing more. Callable from a graceful-shutdown handler, which cannot wait.
    public nonisolated func beginShutdown() {
        stopClock.withLock { clock in
            if clock.deadline == nil { clock.deadline = .now + clock.grace }
        }
    }

    /// The first step of the daemon's stop: drains every running role, users of a capability before its provider,
    /// once an operation under way has finished. Every role is drained before any is stopped, whichever service the
    /// group's shutdown reaches first (roles started by a reload join the group last, so they hear it first).
    public func drain() async {
        beginShutdown()
        await waitForTurn()
        defer { endTurn() }
        await drainForShutdown()
    }

    /// The group's graceful shutdown reached this role's service: every role is drained, then this one stops, after
    /// the roles that use its capabilities.
    func stopForDaemonShutdown(_ name: String, generation: Int) async {
        beginShutdown()
        await waitForTurn()
        defer { endTurn() }
        await drainForShutdown()
        guard slots[name]?.generation == generation else { return }
        await stop(name, retiring: false)
    }

    /// Stops the roles still running once the daemon's `ServiceGroup` has ended: a role whose service the group
    /// never ran, because the group's shutdown began between its start and its hand-over.
    public func stopRolesLeftRunning() async {
        beginShutdown()
        await waitForTurn()
        defer { endTurn() }
        await drainForShutdown()
        for name in order.reversed() where slots[name]?.role != nil {
            await abandon(name, grace: remainingGrace())
        }
    }

    func drainForShutdown() async {
        guard !drainedForShutdown else { return }
        drainedForShutdown = true
        for name in order.reversed() {
            await drainRole(name)
        }
    }

    /// Drains a running role, once.
    func drainRole(_ name: String) async {
        guard let slot = slots[name], let role = slot.role, slot.state == .running, !slot.drained else { return }
        slots[name]?.drained = true
        logger.info("role draining", metadata: ["role": "\(name)"])
        await role.drain()
    }

    /// Stops a role and waits until it has stopped. When the daemon stops, the roles that use the role's
    /// capabilities stop first; when a reload retires it, they keep running and hear that it went.
    func stop(_ name: String, retiring: Bool) async {
        guard let slot = slots[name], let role = slot.role else { return }
        if !retiring {
            let running = order.compactMap { slots[$0] }.filter { $0.role != nil }.map(\.declaration)
            for dependent in catalog.dependents(of: name, among: running) {
                await stop(dependent, retiring: false)
            }
        }
        if retiring { slots[name]?.retire?.finish() }
        if slots[name]?.shutdownRequested == false {
            await drainRole(name)
            slots[name]?.shutdownRequested = true
            if slots[name]?.state == .running { slots[name]?.state = .stopping }
            logger.info("role stopping", metadata: ["role": "\(name)"])
            await role.shutdown(grace: remainingGrace())
        }
        await slot.finished.wait()
    }

    /// Stops a role whose service never ran: a later role failed to start, or the group ended first.
    func abandon(_ name: String, grace: Duration) async {
        guard let slot = slots[name], let role = slot.role else { return }
        await drainRole(name)
        slots[name]?.shutdownRequested = true
        logger.info("role stopping", metadata: ["role": "\(name)"])
        await role.shutdown(grace: grace)
        slot.retire?.finish()
        slots[name]?.state = .stopped
        slots[name]?.role = nil
        recordDown(name)
        environment.routes.removeAll(role: name)
        capabilities.offers = capabilities.offers.filter { $0.value.provider != name }
    }

    func remainingGrace() -> Duration {
        stopClock.withLock { clock in
            clock.deadline.map { max(.zero, $0 - .now) } ?? clock.grace
        }
    }
}
