import NIOCore
import Testing

@testable import Membership

@Suite struct SWIMStateMachineTests {
    let local = SWIMConfiguration(profile: .local)

    @Test func healthyMembersAckEveryProbeAndNoneIsSuspected() {
        var network = SimulatedNetwork.cluster(5, configuration: local)
        network.run(for: .seconds(10))
        let probes = network.log.compactMap { if case .probed(_, let acked, _) = $0.action { acked } else { nil } }
        #expect(probes.count >= 5 * 8)
        #expect(probes.allSatisfy { $0 })
        #expect(network.suspicions == 0)
        for member in network.members.values {
            #expect(member.members.allSatisfy { $0.state == .alive })
            #expect(member.healthScore == 0)
        }
    }

    @Test func aKilledMemberIsSuspectedThenDeclaredDeadByAll() {
        var network = SimulatedNetwork.cluster(5, configuration: local)
        network.run(for: .seconds(2))
        let victim = SimulatedNetwork.address(3)
        network.killed.insert(victim)
        network.watched = "node-3"
        let killedAt = network.now
        network.run(for: .seconds(15))
        #expect(network.declaredDead.count == 4)
        for address in network.order where address != victim {
            #expect(network.state(of: "node-3", seenBy: address) == .dead)
        }
        let slowest = network.declaredDead.values.max()! - killedAt
        // Three members expected to confirm (suspicion_mult 3 - 2 = 1): within probe rounds plus the suspicion time.
        #expect(slowest < .seconds(12))
        #expect(network.suspicions >= 1)
    }

    @Test func aMemberUnreachableDirectlyIsReachedThroughAnIndirectProbeAndNotSuspected() {
        var network = SimulatedNetwork.cluster(3, configuration: SWIMConfiguration(profile: .lan))
        let a = SimulatedNetwork.address(0)
        let c = SimulatedNetwork.address(2)
        network.blocked = [[a, c], [c, a]]
        network.run(for: .seconds(20))
        let aProbesOfC = network.log.compactMap { entry -> Bool? in
            if entry.member == "node-0", case .probed("node-2", let acked, _) = entry.action { return acked }
            return nil
        }
        #expect(!aProbesOfC.isEmpty)
        #expect(aProbesOfC.allSatisfy { $0 })
        let indirect = network.log.contains { entry in
            if entry.member == "node-0", case .send(let messages, _) = entry.action, case .indirectPing = messages.first { return true }
            return false
        }
        #expect(indirect)
        #expect(network.state(of: "node-2", seenBy: a) == .alive)
    }

    /// memberlist `sendMsg`: a ping's ack carries the queued broadcasts that fit beside it.
    @Test func anAckCarriesQueuedBroadcasts() {
        var network = SimulatedNetwork.cluster(3, configuration: local)
        let a = SimulatedNetwork.address(0)
        var machine = network.members[a]!
        _ = machine.updateMeta([1, 2, 3], now: network.now)
        let actions = machine.receive(.ping(seq: 9, target: "node-0", source: SimulatedNetwork.address(1), sourceName: "node-1"), from: SimulatedNetwork.address(1), now: network.now)
        guard case .send(let messages, let to)? = actions.first else {
            Issue.record("no packet: \(actions)")
            return
        }
        #expect(to == SimulatedNetwork.address(1))
        #expect(messages.first == .ack(seq: 9))
        #expect(messages.dropFirst().contains { if case .alive(let alive) = $0 { alive.node == "node-0" && alive.meta == [1, 2, 3] } else { false } })
        network.members[a] = machine
    }

    /// A probe without an ack by `probe_timeout` sends the direct ping again (same sequence number) beside the
    /// indirect pings; an ack to either ends it.
    @Test func theDirectPingIsSentAgainAtTheProbeTimeout() {
        var network = SimulatedNetwork.cluster(4, configuration: local)
        let a = SimulatedNetwork.address(0)
        network.killed = Set(network.order.dropFirst())
        network.run(for: .seconds(3))
        let pings = network.log.compactMap { entry -> (UInt32, NodeAddress, NIODeadline)? in
            if entry.member == "node-0", case .send(let messages, let to) = entry.action, case .ping(let seq, let target, _, _)? = messages.first, !target.isEmpty { return (seq, to, entry.at) }
            return nil
        }
        let first = try! #require(pings.first)
        let again = pings.filter { $0.0 == first.0 }
        #expect(again.count == 2)
        #expect(again.allSatisfy { $0.1 == first.1 })
        #expect(again.last!.2 - first.2 == local.probeTimeout)
        _ = a
    }

    /// The member that raises a suspicion from its own failed probe tells the suspect at once.
    @Test func theSuspectIsToldOfItsSuspicionAtOnce() {
        var network = SimulatedNetwork.cluster(4, configuration: local)
        let c = SimulatedNetwork.address(2)
        network.killed = [c]
        network.run(for: .seconds(6))
        let raised = network.log.firstIndex { entry in
            if case .suspected("node-2") = entry.action { return true }
            return false
        }
        let index = try! #require(raised)
        let suspecter = network.log[index].member
        let told = network.log[index...].prefix(4).contains { entry in
            if entry.member == suspecter, case .send(let messages, let to) = entry.action, to == c, messages == [.suspect(incarnation: 1, node: "node-2", from: suspecter)] { return true }
            return false
        }
        #expect(told)
    }

    /// An accusation already refuted (an older incarnation), from a member that has not heard the refutation: the
    /// accuser gets the current alive, with no new incarnation and no rise in the health score.
    @Test func aStaleAccusationIsAnsweredWithTheCurrentAlive() {
        var network = SimulatedNetwork.cluster(3, configuration: local)
        let a = SimulatedNetwork.address(0)
        _ = network.members[a]!.receive(.suspect(incarnation: 1, node: "node-0", from: "node-1"), from: SimulatedNetwork.address(1), now: network.now)
        let local = network.members[a]!.localMember
        #expect(local.incarnation == 2)
        let score = network.members[a]!.healthScore
        let answer = network.members[a]!.receive(.suspect(incarnation: 1, node: "node-0", from: "node-2"), from: SimulatedNetwork.address(2), now: network.now)
        #expect(answer == [.send([.alive(.init(incarnation: 2, node: "node-0", address: a, meta: local.meta, versions: local.versions))], to: SimulatedNetwork.address(2))])
        #expect(network.members[a]!.localMember.incarnation == 2)
        #expect(network.members[a]!.healthScore == score)
        let dead = network.members[a]!.receive(.dead(incarnation: 1, node: "node-0", from: "node-1"), from: SimulatedNetwork.address(1), now: network.now)
        #expect(dead.count == 1)
        #expect(network.members[a]!.localMember.incarnation == 2)
    }

    @Test func aMemberSuspectedRefutesWithAHigherIncarnation() {
        var network = SimulatedNetwork.cluster(3, configuration: local)
        let a = SimulatedNetwork.address(0)
        let accused = network.members[a]!.localMember.incarnation
        let actions = network.members[a]!.receive(.suspect(incarnation: accused + 4, node: "node-0", from: "node-1"), from: SimulatedNetwork.address(1), now: network.now)
        let local = network.members[a]!.localMember
        // Refuted, and the refutation also sent straight to the accuser.
        #expect(actions == [
            .refuted(accused: accused + 4, incarnation: accused + 5),
            .send([.alive(.init(incarnation: accused + 5, node: "node-0", address: a, meta: local.meta, versions: local.versions))], to: SimulatedNetwork.address(1)),
        ])
        #expect(network.members[a]!.localMember.incarnation == accused + 5)
        #expect(network.members[a]!.localMember.state == .alive)
        #expect(network.members[a]!.healthScore == 1)
        // The refutation spreads: the others end with node-0 alive at the new incarnation.
        _ = network.members[SimulatedNetwork.address(1)]!.receive(.suspect(incarnation: accused + 4, node: "node-0", from: "node-1"), from: a, now: network.now)
        network.run(for: .seconds(3))
        #expect(network.members[SimulatedNetwork.address(1)]!.member(named: "node-0")?.state == .alive)
        #expect(network.members[SimulatedNetwork.address(1)]!.member(named: "node-0")?.incarnation == accused + 5)
    }

    /// serf's leave intent goes straight to every member alive or suspect, not to a dead one.
    @Test func aUserMessageIsSentToEveryLivingMember() {
        var network = SimulatedNetwork.cluster(4, configuration: local)
        let a = SimulatedNetwork.address(0)
        _ = network.members[a]!.receive(.dead(incarnation: 1, node: "node-3", from: "node-2"), from: SimulatedNetwork.address(2), now: network.now)
        let sends = network.members[a]!.sendUserToLiving([1, 2, 3]).compactMap { action -> NodeAddress? in
            if case .send(let messages, let to) = action, messages == [.user([1, 2, 3])] { return to }
            return nil
        }
        #expect(sends == [SimulatedNetwork.address(1), SimulatedNetwork.address(2)])
    }

    @Test func aDeadMessageAboutThisMemberIsRefutedButItsOwnLeaveIsRecordedAsLeft() {
        var network = SimulatedNetwork.cluster(4, configuration: local)
        let a = SimulatedNetwork.address(0)
        let refuted = network.members[a]!.receive(.dead(incarnation: 1, node: "node-0", from: "node-2"), from: SimulatedNetwork.address(2), now: network.now)
        #expect(refuted.first == .refuted(accused: 1, incarnation: 2))
        #expect(refuted.dropFirst().map { if case .send(let messages, let to) = $0, case .alive(let alive)? = messages.first { alive.incarnation == 2 && to == SimulatedNetwork.address(2) } else { false } } == [true])
        let leave = network.members[a]!.leave(now: network.now)
        // The local member's change, then the leave sent straight to each of the three others.
        #expect(leave.count == 4)
        let told = leave.dropFirst().compactMap { action -> NodeAddress? in
            if case .send(let messages, let to) = action, messages == [.dead(incarnation: 2, node: "node-0", from: "node-0")] { return to }
            return nil
        }
        #expect(Set(told) == Set(network.order.dropFirst()))
        #expect(network.members[a]!.localMember.state == .left)
        network.perform(leave, by: a)
        network.run(for: .seconds(3))
        #expect(network.members[a]!.leaveSpread)
        for address in network.order.dropFirst() {
            #expect(network.state(of: "node-0", seenBy: address) == .left)
        }
    }

    @Test func confirmationsFromOthersShortenTheSuspicion() {
        // Ten members at the lan profile: k = 4 - 2 = 2 confirmations expected; min = 4 s, max = 24 s.
        var machine = SimulatedNetwork.cluster(10, configuration: SWIMConfiguration(profile: .lan)).members[SimulatedNetwork.address(0)]!
        let now = NIODeadline.uptimeNanoseconds(100_000_000_000)
        let actions = machine.receive(.suspect(incarnation: 1, node: "node-5", from: "node-1"), from: SimulatedNetwork.address(1), now: now)
        #expect(actions.contains(.suspected(node: "node-5")))
        #expect(machine.suspicions["node-5"]?.deadline == now + .seconds(24))
        _ = machine.receive(.suspect(incarnation: 1, node: "node-5", from: "node-2"), from: SimulatedNetwork.address(2), now: now + .seconds(1))
        // 24 - log(2)/log(3) * 20 = 11.381 s after the start
        #expect(machine.suspicions["node-5"]?.deadline == now + .milliseconds(11381))
        _ = machine.receive(.suspect(incarnation: 1, node: "node-5", from: "node-3"), from: SimulatedNetwork.address(3), now: now + .seconds(2))
        #expect(machine.suspicions["node-5"]?.deadline == now + .seconds(4))
        let early = machine.tick(now: now + .milliseconds(3990))
        #expect(!early.contains { if case .changed(let e) = $0 { e.name == "node-5" } else { false } })
        let expired = machine.tick(now: now + .seconds(4))
        #expect(expired.contains { if case .changed(let e) = $0 { e.name == "node-5" && e.state == .dead } else { false } })
    }

    @Test func anAliveAfterTheSuspicionCancelsIt() {
        var machine = SimulatedNetwork.cluster(4, configuration: local).members[SimulatedNetwork.address(0)]!
        let now = NIODeadline.uptimeNanoseconds(100_000_000_000)
        _ = machine.receive(.suspect(incarnation: 1, node: "node-2", from: "node-1"), from: SimulatedNetwork.address(1), now: now)
        #expect(machine.member(named: "node-2")?.state == .suspect)
        let alive = SWIMMessage.Announcement(incarnation: 2, node: "node-2", address: SimulatedNetwork.address(2), meta: Array("node-2".utf8), versions: .outrider)
        _ = machine.receive(.alive(alive), from: SimulatedNetwork.address(2), now: now + .seconds(1))
        #expect(machine.member(named: "node-2")?.state == .alive)
        #expect(machine.suspicions["node-2"] == nil)
    }

    @Test func aSlowMemberMissingItsNacksRaisesItsHealthScoreAndProbesLessOften() {
        var network = SimulatedNetwork.cluster(5, configuration: SWIMConfiguration(profile: .lan))
        let slow = SimulatedNetwork.address(0)
        // Everything node-0 receives is lost: its probes see neither acks nor nacks.
        network.blocked = Set(network.order.dropFirst().map { [$0, slow] })
        network.run(for: .seconds(8))
        #expect(network.members[slow]!.healthScore >= 2)
        // The first ping of each probe (the direct ping is sent again with the same sequence number at the probe
        // timeout).
        var seen: Set<UInt32> = []
        let probeStarts = network.log.filter { entry in
            if entry.member == "node-0", case .send(let messages, _) = entry.action, case .ping(let seq, let target, _, _)? = messages.first, !target.isEmpty {
                return seen.insert(seq).inserted
            }
            return false
        }.map(\.at)
        let gaps = zip(probeStarts.dropFirst(), probeStarts).map { $0 - $1 }
        #expect(gaps.last.map { $0 > .seconds(1) } == true)
    }

    @Test func aSecondMemberWithThisNameAndAnotherAddressIsRefused() {
        var machine = SimulatedNetwork.cluster(3, configuration: local).members[SimulatedNetwork.address(0)]!
        let impostor = SWIMMessage.Announcement(incarnation: 9, node: "node-1", address: NodeAddress(host: "10.9.9.9", port: 7946), meta: [], versions: .outrider)
        let actions = machine.receive(.alive(impostor), from: impostor.address, now: .uptimeNanoseconds(2_000_000_000))
        guard case .conflict(let existing, let claimed)? = actions.first else {
            Issue.record("expected a conflict, got \(actions)")
            return
        }
        #expect(existing.address == SimulatedNetwork.address(1))
        #expect(claimed.address.host == "10.9.9.9")
        #expect(machine.member(named: "node-1")?.address == SimulatedNetwork.address(1))
    }

    @Test func aLeftMemberMayRejoinFromANewAddress() {
        var machine = SimulatedNetwork.cluster(3, configuration: local).members[SimulatedNetwork.address(0)]!
        let now = NIODeadline.uptimeNanoseconds(2_000_000_000)
        _ = machine.receive(.dead(incarnation: 1, node: "node-1", from: "node-1"), from: SimulatedNetwork.address(1), now: now)
        #expect(machine.member(named: "node-1")?.state == .left)
        let moved = SWIMMessage.Announcement(incarnation: 1, node: "node-1", address: NodeAddress(host: "10.9.9.9", port: 7946), meta: [], versions: .outrider)
        _ = machine.receive(.alive(moved), from: moved.address, now: now + .seconds(1))
        #expect(machine.member(named: "node-1")?.state == .alive)
        #expect(machine.member(named: "node-1")?.address.host == "10.9.9.9")
    }

    @Test func aRestartedMemberWithANewAddressTakesOverOnceTheOldOneIsReaped() {
        var network = SimulatedNetwork.cluster(3, configuration: local)
        let moved = NodeAddress(host: "10.9.9.9", port: 7946)
        network.killed.insert(SimulatedNetwork.address(2))
        let a = SimulatedNetwork.address(0)
        // Up to the longest suspicion (18 s with one confirmation expected and none given) plus probe rounds.
        for _ in 0..<300 where network.state(of: "node-2", seenBy: a) != .dead {
            network.run(for: .milliseconds(100))
        }
        #expect(network.state(of: "node-2", seenBy: a) == .dead)
        // Still dead and remembered: the new address is a conflict.
        let early = network.members[a]!.receive(.alive(.init(incarnation: 1, node: "node-2", address: moved, meta: [], versions: .outrider)), from: moved, now: network.now)
        #expect(early.contains { if case .conflict = $0 { true } else { false } })
        network.run(for: .seconds(40))
        #expect(network.members[a]!.member(named: "node-2") == nil)
        _ = network.members[a]!.receive(.alive(.init(incarnation: 1, node: "node-2", address: moved, meta: [], versions: .outrider)), from: moved, now: network.now)
        #expect(network.members[a]!.member(named: "node-2")?.address == moved)
        #expect(network.members[a]!.member(named: "node-2")?.state == .alive)
    }

    @Test func aJoinWithIncompatibleProtocolVersionsIsRefused() {
        let machine = SimulatedNetwork.cluster(2, configuration: local).members[SimulatedNetwork.address(0)]!
        let compatible = RemoteNodeState(name: "x", address: NodeAddress(host: "10.1.1.1", port: 7946), meta: [], incarnation: 1, state: .alive, versions: .outrider)
        #expect(machine.incompatibility(with: [compatible]) == nil)
        let future = ProtocolVersions(protocolMin: 6, protocolMax: 7, protocolCurrent: 6, delegateMin: 2, delegateMax: 5, delegateCurrent: 5)
        let incompatible = RemoteNodeState(name: "y", address: NodeAddress(host: "10.1.1.2", port: 7946), meta: [], incarnation: 1, state: .alive, versions: future)
        #expect(machine.incompatibility(with: [incompatible])?.contains("protocol version") == true)
    }

    @Test func newMetadataIsAnnouncedAtANewIncarnation() {
        var network = SimulatedNetwork.cluster(3, configuration: local)
        let a = SimulatedNetwork.address(0)
        let actions = network.members[a]!.updateMeta([1, 2, 3], now: network.now)
        #expect(network.members[a]!.localMember.incarnation == 2)
        network.perform(actions, by: a)
        network.run(for: .seconds(2))
        #expect(network.members[SimulatedNetwork.address(2)]!.member(named: "node-0")?.meta == [1, 2, 3])
    }

    @Test func deadMembersAreReapedAfterGossipToTheDeadTime() {
        var network = SimulatedNetwork.cluster(3, configuration: local)
        network.killed.insert(SimulatedNetwork.address(2))
        network.run(for: .seconds(40))
        #expect(network.members[SimulatedNetwork.address(0)]!.member(named: "node-2") == nil)
        #expect(network.log.contains { if case .removed(let e) = $0.action { e.name == "node-2" } else { false } })
    }
}
