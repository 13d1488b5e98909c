import Foundation
import Plugins
import Proxy
import ProxyRole
import ServiceLifecycle

/// sidekick's live table of backends, redrawn every second on the terminal until the daemon stops.
struct SidekickConsole: Service {
    let host: RoleHost
    var interval: Duration = .seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let status = await currentStatus() {
                    FileHandle.standardOutput.write(Data(SidekickTable.frame(status).utf8))
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    private func currentStatus() async -> ProxyStatus? {
        guard let fragment = await host.reports().first(where: { $0.name == "proxy" })?.status,
            let data = try? JSONEncoder().encode(fragment)
        else { return nil }
        return try? JSONDecoder().decode(ProxyStatus.self, from: data)
    }
}
