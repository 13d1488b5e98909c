import ServiceLifecycle

/// One running role as a swift-service-lifecycle `Service` in the daemon's `ServiceGroup`.
///
/// The service runs the role until it stops. On the group's graceful shutdown it asks the host to stop the role,
/// which drains every role first and stops the role's dependents before it. When the role stops early (it failed,
/// or was stopped by the host for another reason) the service still waits for the group's shutdown before
/// returning, because `ServiceGroup` treats any other service ending during its ordered shutdown as unexpected. A
/// role retired by a reload ends its service at once by throwing ``RoleRetired``: with the `.ignore` failure
/// behaviour the group accepts a thrown error from any service at any time, even during its shutdown, where a plain
/// return would not be.
///
/// Both waits are child tasks of `run()`, so nothing the service starts outlives it.
struct RoleService: Service, CustomStringConvertible {
    let name: String
    let generation: Int
    let role: RunningRole
    let host: RoleHost
    let finished: Completion
    /// Finished by the host when a reload retires this instance.
    let retired: AsyncStream<Void>

    var description: String { "role \(name)" }

    private enum Ending {
        case retired
        case stoppedForShutdown
        /// The other child task ended first; this one was cancelled.
        case cancelled
    }

    func run() async throws {
        let ending = await withTaskGroup(of: Ending.self) { tasks in
            tasks.addTask { [role, host, name, generation, finished, retired] in
                do {
                    try await role.run()
                    await host.roleFinished(name, generation: generation, error: nil)
                } catch {
                    await host.roleFinished(name, generation: generation, error: error)
                }
                finished.complete()
                for await _ in retired {}
                return Task.isCancelled ? .cancelled : .retired
            }
            tasks.addTask { [host, name, generation] in
                do {
                    try await gracefulShutdown()
                } catch {
                    return .cancelled
                }
                // Returns once the role has finished, so the other task is past its `run()`.
                await host.stopForDaemonShutdown(name, generation: generation)
                return .stoppedForShutdown
            }
            let first = await tasks.next() ?? .cancelled
            tasks.cancelAll()
            return first
        }
        if ending == .retired { throw RoleRetired(role: name) }
    }
}

/// Ends the service of a role instance that a reload stopped or replaced.
struct RoleRetired: Error, CustomStringConvertible {
    var role: String
    var description: String { "role \(role) retired by a reload" }
}
