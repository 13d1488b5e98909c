import ServiceLifecycle

/// One running role as a swift-service-lifecycle `Service` in the daemon's `ServiceGroup`.
///
/// The service runs the role until it stops. On the group's graceful shutdown it asks the host to stop the role,
/// which stops the role's dependents first. When the role stops early (it failed, or was stopped by the host for
/// another reason) the service still waits for the group's shutdown before returning, because `ServiceGroup`
/// treats any other service ending during its ordered shutdown as unexpected. A role retired by a reload ends its
/// service at once by throwing ``RoleRetired``: with the `.ignore` failure behaviour the group accepts a thrown
/// error from any service at any time, even during its shutdown, where a plain return would not be.
struct RoleService: Service, CustomStringConvertible {
    let name: String
    let generation: Int
    let role: RunningRole
    let host: RoleHost
    let finished: Completion
    /// Finished by the host when a reload retires this instance.
    let retired: AsyncStream<Void>

    var description: String { "role \(name)" }

    func run() async throws {
        let host = self.host, name = self.name, generation = self.generation
        let wasRetired = await withGracefulShutdownHandler {
            do {
                try await role.run()
                await host.roleFinished(name, generation: generation, error: nil)
            } catch {
                await host.roleFinished(name, generation: generation, error: error)
            }
            finished.complete()
            return await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try? await gracefulShutdown()
                    return false
                }
                group.addTask {
                    for await _ in retired {}
                    return !Task.isCancelled
                }
                let retiredFirst = await group.next() ?? false
                group.cancelAll()
                return retiredFirst
            }
        } onGracefulShutdown: {
            Task { await host.stopForDaemonShutdown(name, generation: generation) }
        }
        if wasRetired { throw RoleRetired(role: name) }
    }
}

/// Ends the service of a role instance that a reload stopped or replaced.
struct RoleRetired: Error, CustomStringConvertible {
    var role: String
    var description: String { "role \(role) retired by a reload" }
}
