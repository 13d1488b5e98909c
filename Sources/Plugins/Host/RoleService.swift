import ServiceLifecycle

/// One running role as a swift-service-lifecycle `Service` in the daemon's `ServiceGroup`.
///
/// The service runs the role until it stops. On the group's graceful shutdown it asks the host to stop the role,
/// which stops the role's dependents first. When the role stops early (it failed, or was stopped by the host for
/// another reason) the service still waits for the group's shutdown before returning, because `ServiceGroup`
/// treats any other service ending during its ordered shutdown as unexpected; only a role retired by a reload
/// returns at once.
struct RoleService: Service, CustomStringConvertible {
    let name: String
    let generation: Int
    let role: RunningRole
    let host: RoleHost
    let finished: Completion
    /// Finished by the host when a reload retires this instance.
    let retired: AsyncStream<Void>

    var description: String { "role \(name)" }

    func run() async {
        let host = self.host, name = self.name, generation = self.generation
        await withGracefulShutdownHandler {
            do {
                try await role.run()
                await host.roleFinished(name, generation: generation, error: nil)
            } catch {
                await host.roleFinished(name, generation: generation, error: error)
            }
            finished.complete()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await gracefulShutdown() }
                group.addTask { for await _ in retired {} }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            Task { await host.stopForDaemonShutdown(name, generation: generation) }
        }
    }
}
