import NIOCore

@testable import Membership

/// Members of one cluster exchanging messages in process, in virtual time: each packet takes `latency` and is lost
/// with probability `loss`; a killed member neither answers nor acts; a stream (push-pull, TCP fallback ping)
/// succeeds when its peer is running.
struct SimulatedNetwork {
    struct Delivery {
        var at: NIODeadline
        var order: Int
        var message: SWIMMessage
        var from: NodeAddress
        var to: NodeAddress
    }

    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var members: [NodeAddress: SWIMStateMachine] = [:]
    var killed: Set<NodeAddress> = []
    var latency: TimeAmount = .milliseconds(2)
    var step: TimeAmount = .milliseconds(5)
    /// Links [from, to] that drop every packet and refuse streams.
    var blocked: Set<[NodeAddress]> = []
    /// Members in the order they were added (the order they are ticked in).
    var order: [NodeAddress] = []
    /// The member whose failure is being timed, and when each other member first declared it dead.
    var watched: String?
    var declaredDead: [String: NIODeadline] = [:]
    var suspicions = 0
    /// Accusations members refuted (each a healthy member suspected, as the member itself saw it).
    var refutations = 0
    /// Members declared dead, counted once per member that declared it.
    var deathsDeclared = 0
    var loss = 0.0
    var random = SeededRandom(seed: 42)
    private var inFlight: [Delivery] = []
    private var counter = 0
    /// Packets sent, by sender.
    var packetsSent: [NodeAddress: Int] = [:]
    /// Every action every member took, with when and who.
    var log: [(at: NIODeadline, member: String, action: SWIMStateMachine.Action)] = []
    var recordLog = true

    static func address(_ index: Int) -> NodeAddress { NodeAddress(host: "10.0.\(index / 250).\(index % 250 + 1)", port: 7946) }

    mutating func add(_ name: String, at address: NodeAddress, configuration: SWIMConfiguration, seed: UInt64) {
        order.append(address)
        members[address] = SWIMStateMachine(configuration: configuration, name: name, address: address, meta: Array(name.utf8), seed: seed, now: now, messageSize: { _ in 40 })
    }

    /// A cluster of `count` members, each having joined the first (a push-pull), all alive in each other's tables.
    static func cluster(_ count: Int, configuration: SWIMConfiguration) -> SimulatedNetwork {
        var network = SimulatedNetwork()
        for index in 0..<count {
            network.add("node-\(index)", at: address(index), configuration: configuration, seed: UInt64(index + 1))
        }
        // Everyone knows everyone, as after a converged join.
        // In the order the members were added, so that a seeded run replays exactly.
        let states = network.order.flatMap { network.members[$0]!.localState }
        for key in network.order {
            _ = network.members[key]!.merge(states, now: network.now)
            network.members[key]!.clearBroadcasts()
        }
        return network
    }

    mutating func perform(_ actions: [SWIMStateMachine.Action], by address: NodeAddress) {
        guard let member = members[address] else { return }
        for action in actions {
            if recordLog { log.append((now, member.localName, action)) }
            switch action {
            case .changed(let entry):
                if entry.state == .dead { deathsDeclared += 1 }
                if entry.name == watched, entry.state == .dead, declaredDead[member.localName] == nil {
                    declaredDead[member.localName] = now
                }
            case .suspected:
                suspicions += 1
            case .refuted:
                refutations += 1
            case .send(let messages, let to):
                packetsSent[address, default: 0] += 1
                if loss > 0, Double(random.next() % 1_000_000) / 1_000_000 < loss { continue }
                if blocked.contains([address, to]) { continue }
                for message in messages {
                    counter += 1
                    insert(Delivery(at: now + latency, order: counter, message: message, from: address, to: to))
                }
            case .probeOverStream(let ping, let to, _):
                guard case .ping(let seq, _, _, _) = ping else { continue }
                // A stream needs both directions, and its handshake must get through: a lost SYN or SYN-ACK costs
                // TCP's 1 s retransmission timeout, past the probe's deadline at every profile but wan.
                var contacted = members[to] != nil && !killed.contains(to) && !blocked.contains([address, to]) && !blocked.contains([to, address])
                if loss > 0, contacted {
                    for _ in 0..<2 where Double(random.next() % 1_000_000) / 1_000_000 < loss { contacted = false }
                }
                members[address]!.streamProbeCompleted(seq: seq, contacted: contacted, now: now)
            case .pushPull(let to, _):
                guard members[to] != nil, !killed.contains(to), !blocked.contains([address, to]), !blocked.contains([to, address]) else { continue }
                let mine = members[address]!.localState
                let theirs = members[to]!.localState
                let theirActions = members[to]!.merge(mine, now: now)
                let myActions = members[address]!.merge(theirs, now: now)
                perform(theirActions, by: to)
                perform(myActions, by: address)
            default:
                break
            }
        }
    }

    /// Advances virtual time in steps of `step` until `deadline`: delivers the packets due, then ticks every member
    /// whose next deadline has come.
    mutating func run(until deadline: NIODeadline) {
        while now < deadline {
            now = now + step
            while let first = inFlight.last, first.at <= now {
                inFlight.removeLast()
                guard members[first.to] != nil, !killed.contains(first.to), !blocked.contains([first.from, first.to]) else { continue }
                let actions = members[first.to]!.receive(first.message, from: first.from, now: now)
                perform(actions, by: first.to)
            }
            for address in order where !killed.contains(address) {
                guard members[address]!.nextDeadline <= now else { continue }
                let actions = members[address]!.tick(now: now)
                perform(actions, by: address)
            }
        }
    }

    mutating func run(for duration: TimeAmount) { run(until: now + duration) }

    /// Keeps deliveries sorted latest first so the next one is the last element.
    private mutating func insert(_ delivery: Delivery) {
        var low = 0
        var high = inFlight.count
        while low < high {
            let mid = (low + high) / 2
            let other = inFlight[mid]
            if (other.at, other.order) > (delivery.at, delivery.order) { low = mid + 1 } else { high = mid }
        }
        inFlight.insert(delivery, at: low)
    }

    func state(of name: String, seenBy address: NodeAddress) -> NodeEntry.State? {
        members[address]?.member(named: name)?.state
    }
}
