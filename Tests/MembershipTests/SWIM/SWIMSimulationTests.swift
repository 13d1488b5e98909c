import NIOCore
import Testing

@testable import Membership

/// The failure detector at scale in virtual time: detection time of a kill and the packets each member sends per
/// second, which SWIM keeps flat as the cluster grows. Numbers are printed (and recorded in docs/performance.md),
/// never asserted as timings.
@Suite struct SWIMSimulationTests {
    @Test(arguments: [100, 1000])
    func detectionTimeAndLoadAsTheClusterGrows(members: Int) {
        var network = SimulatedNetwork.cluster(members, configuration: SWIMConfiguration(profile: .lan))
        network.recordLog = false
        network.loss = 0.01
        network.step = .milliseconds(10)
        network.run(for: .seconds(5))
        let sentBefore = network.packetsSent.values.reduce(0, +)
        let victim = SimulatedNetwork.address(members / 2)
        network.killed.insert(victim)
        network.watched = "node-\(members / 2)"
        let killedAt = network.now
        let window: TimeAmount = .seconds(members >= 1000 ? 40 : 30)
        network.run(for: window)
        let sent = network.packetsSent.values.reduce(0, +) - sentBefore
        let seconds = Double(window.nanoseconds) / 1e9
        let times = network.declaredDead.values.map { Double(($0 - killedAt).nanoseconds) / 1e9 }.sorted()
        let median = times.isEmpty ? .nan : times[times.count / 2]
        print("swim simulation: members=\(members) loss=1% declared_dead_by=\(times.count)/\(members - 1) first=\(times.first ?? .nan)s median=\(median)s last=\(times.last ?? .nan)s packets_per_member_per_s=\(Double(sent) / Double(members) / seconds) suspicions=\(network.suspicions)")
        #expect(times.count == members - 1)
    }
}
