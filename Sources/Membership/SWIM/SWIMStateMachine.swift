import NIOCore

/// The SWIM member with Lifeguard, as hashicorp/memberlist runs it (`state.go`), as a pure value: decoded messages,
/// stream results and the passing of time go in; packets to send, streams to open and membership changes come out.
/// The caller owns the clock (it passes `now` and wakes the machine at ``nextDeadline`` by calling ``tick(now:)``)
/// and seeds the random source.
///
/// - Probing (`probe`, `probeNode`): one member per `probeInterval`, round-robin over a list shuffled at the end of
///   each round (`resetNodes`), where dead members gossiped about for `gossipToTheDeadTime` are also reaped. A
///   suspect target gets the suspicion piggybacked on the ping so it can refute at once. After `probeTimeout`
///   without an ack, `indirectChecks` alive members are asked to probe it (with a nack requested from members of
///   protocol 4 and up) and a ping over TCP is tried (protocol 3 and up); without an ack by the end of the
///   probe interval (stretched by awareness) the target is suspected.
/// - Lifeguard: awareness (`awareness.go`) falls on each ack and rises by the nacks missing (or by one when none
///   were expected) on each failed probe and on each refutation, and stretches the probe interval. Suspicion
///   timeouts shrink with independent confirmations (`suspicion.go`).
/// - Dissemination: alive, suspect and dead messages are queued (``BroadcastQueue``) and piggybacked on packets to
///   `gossipNodes` random members every `gossipInterval` (`gossip`); every `pushPullInterval` (scaled beyond 32
///   members) the full state is exchanged with one random member (`pushPull`, `mergeState`).
/// - Incarnations: a suspect, dead or conflicting alive about this member is refuted with a higher incarnation
///   (`refute`); a dead message from the member itself means it left (`deadNode`).
/// - Past memberlist, on purpose, for members that are lossy but alive: the direct ping is sent again at the probe
///   timeout, the member that raises a suspicion tells the suspect at once, and a refutation (or the current alive,
///   for an accusation already refuted) goes straight to the accuser too. Each rule's comment gives the reason.
/// - Name conflicts (`aliveNode`): an alive for a known name at another address is refused unless the known member
///   left, or died longer than `deadNodeReclaimTime` ago.
public struct SWIMStateMachine: Sendable {
    public enum Action: Sendable, Hashable {
        /// One packet to `address`: one message, or several in a compound.
        case send([SWIMMessage], to: NodeAddress)
        /// memberlist's TCP fallback probe: send `ping` over a stream and report ``streamProbeCompleted(seq:contacted:now:)``.
        case probeOverStream(ping: SWIMMessage, to: NodeAddress, deadline: NIODeadline)
        /// Exchange full state over a stream with `address`; hand the answer to ``merge(_:now:)``.
        case pushPull(with: NodeAddress, join: Bool)
        /// A member appeared or its state, address or metadata changed.
        case changed(NodeEntry)
        /// A dead or departed member reaped from the table.
        case removed(NodeEntry)
        /// An alive for a known name from another address, refused.
        case conflict(existing: NodeEntry, claimed: SWIMMessage.Announcement)
        /// This member was accused at `accused` and announced itself alive at `incarnation`.
        case refuted(accused: UInt32, incarnation: UInt32)
        /// A probe ended: acked after `duration`, or failed and the target suspected.
        case probed(node: String, acked: Bool, duration: TimeAmount)
        /// The member `node` became suspect (counted as `outrider_gossip_suspicions_total`).
        case suspected(node: String)
    }

    struct Probe: Sendable {
        var seq: UInt32
        var target: String
        var address: NodeAddress
        var started: NIODeadline
        var indirectAt: NIODeadline
        var endAt: NIODeadline
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
        var fallbackContacted = false
    }

    struct Relay: Sendable {
        var originSeq: UInt32
        var origin: NodeAddress
        var deadline: NIODeadline
        var wantsNack: Bool
    }

    public private(set) var configuration: SWIMConfiguration
    public let localName: String
    private(set) var nodes: [String: NodeEntry] = [:]
    /// The probe order (memberlist's `nodes` slice).
    private var order: [String] = []
    private var probeIndex = 0
    public private(set) var awareness: Awareness
    private(set) var queue = BroadcastQueue<SWIMMessage>()
    private(set) var suspicions: [String: Suspicion] = [:]
    private var sequence: UInt32 = 0
    private var probe: Probe?
    private var relays: [UInt32: Relay] = [:]
    private var nextProbeAt: NIODeadline
    private var nextGossipAt: NIODeadline
    private var nextPushPullAt: NIODeadline
    public private(set) var hasLeft = false
    private var random: SeededRandom
    private let messageSize: @Sendable (SWIMMessage) -> Int
    /// Per-message overhead in a compound packet and the room left in a packet, set by the transport.
    public var compoundOverhead = 2
    public var packetRoom: Int

    /// A member named `name` at `address`, alive at incarnation 1 and alone. `messageSize` gives a message's
    /// encoded size so that gossip fills packets as the transport will send them.
    public init(
        configuration: SWIMConfiguration, name: String, address: NodeAddress, meta: [UInt8],
        versions: ProtocolVersions = .outrider, seed: UInt64, now: NIODeadline,
        messageSize: @escaping @Sendable (SWIMMessage) -> Int
    ) {
        self.configuration = configuration
        self.localName = name
        self.awareness = Awareness(maximum: configuration.awarenessMaxMultiplier)
        self.random = SeededRandom(seed: seed)
        self.messageSize = messageSize
        self.packetRoom = configuration.packetSize - 12
        // memberlist `triggerFunc` staggers each ticker's first fire randomly within one interval.
        var random = self.random
        nextProbeAt = now + .nanoseconds(Int64(random.next() % UInt64(max(1, configuration.probeInterval.nanoseconds))))
        nextGossipAt = now + .nanoseconds(Int64(random.next() % UInt64(max(1, configuration.gossipInterval.nanoseconds))))
        nextPushPullAt = now + .nanoseconds(Int64(random.next() % UInt64(max(1, configuration.pushPullInterval.nanoseconds))))
        self.random = random
        let announcement = SWIMMessage.Announcement(incarnation: 1, node: name, address: address, meta: meta, versions: versions)
        let entry = NodeEntry(name: name, address: address, meta: meta, incarnation: 1, state: .alive, stateChange: now, versions: versions)
        nodes[name] = entry
        order = [name]
        broadcast(.alive(announcement), about: name)
    }

    // MARK: Reading

    public var localMember: NodeEntry { nodes[localName]! }
    public var members: [NodeEntry] { nodes.values.sorted { $0.name < $1.name } }
    public func member(named name: String) -> NodeEntry? { nodes[name] }
    public var healthScore: Int { awareness.score }
    public var queuedBroadcasts: Int { queue.count }

    /// The earliest moment ``tick(now:)`` has work.
    public var nextDeadline: NIODeadline {
        var deadline = min(nextGossipAt, nextPushPullAt)
        if let probe {
            deadline = min(deadline, probe.indirectSent ? probe.endAt : probe.indirectAt)
        } else {
            deadline = min(deadline, nextProbeAt)
        }
        for suspicion in suspicions.values { deadline = min(deadline, suspicion.deadline) }
        for relay in relays.values { deadline = min(deadline, relay.deadline) }
        return deadline
    }

    /// The full state for a push-pull (memberlist `sendLocalState`).
    public var localState: [RemoteNodeState] {
        members.map { RemoteNodeState(name: $0.name, address: $0.address, meta: $0.meta, incarnation: $0.incarnation, state: $0.state, versions: $0.versions) }
    }

    // MARK: Commands

    /// Push-pull joins with each address (memberlist `Join`).
    public func join(_ addresses: [NodeAddress]) -> [Action] {
        addresses.map { .pushPull(with: $0, join: true) }
    }

    /// New metadata announced at a new incarnation (memberlist `UpdateNode`, which serf's `SetTags` calls).
    public mutating func updateMeta(_ meta: [UInt8], now: NIODeadline) -> [Action] {
        guard var local = nodes[localName], !hasLeft else { return [] }
        local.incarnation &+= 1
        local.meta = meta
        nodes[localName] = local
        broadcast(.alive(announcement(of: local)), about: localName)
        return [.changed(local)]
    }

    /// Leaves the cluster (memberlist `Leave`): a dead message about this member from itself, which the others
    /// record as left. ``leaveSpread`` tells when it has been transmitted enough.
    public mutating func leave(now: NIODeadline) -> [Action] {
        guard !hasLeft, let local = nodes[localName] else { return [] }
        hasLeft = true
        let actions = deadNode(incarnation: local.incarnation, node: localName, from: localName, now: now)
        return actions + sendToLiving(.dead(incarnation: local.incarnation, node: localName, from: localName))
    }

    /// A user message (serf's leave intent) sent straight to every member alive or suspect here, beside its
    /// broadcast: see ``sendToLiving(_:)``.
    public mutating func sendUserToLiving(_ bytes: [UInt8]) -> [Action] {
        sendToLiving(.user(bytes))
    }

    /// Not in memberlist, on purpose: a leave (and serf's leave intent before it) also goes straight to every
    /// member alive or suspect here, once, beside the broadcast. The broadcast is transmitted only
    /// `retransmit_mult × ceil(log10(n + 1))` times (twice at `local` in a small cluster), and a transmission can
    /// go to a member that has just failed (gossip and probes still reach suspects), so a member that hears
    /// neither would declare the leaver failed instead of left. One datagram per member, at leave only.
    private func sendToLiving(_ message: SWIMMessage) -> [Action] {
        order.compactMap { nodes[$0] }
            .filter { $0.name != localName && ($0.state == .alive || $0.state == .suspect) }
            .map { .send([message], to: $0.address) }
    }

    /// Whether the leave has spread: its broadcast was transmitted its full count, or no one else is alive to hear
    /// it (memberlist `Leave` waits on `leaveBroadcast` only when `anyAlive`).
    public private(set) var leaveSpread = false

    // MARK: Events

    /// A message received in a packet (or a stream) from `from`.
    public mutating func receive(_ message: SWIMMessage, from: NodeAddress, now: NIODeadline) -> [Action] {
        switch message {
        case .ping(let seq, let target, let source, _):
            // memberlist `handlePing`: a ping meant for another name is ignored (a reused address).
            guard target.isEmpty || target == localName else { return [] }
            return [packet(.ack(seq: seq), to: source ?? from)]
        case .indirectPing(let seq, let targetName, let target, let wantsNack, let source, _):
            let localSeq = nextSequence()
            relays[localSeq] = Relay(originSeq: seq, origin: source ?? from, deadline: now + configuration.probeTimeout, wantsNack: wantsNack)
            let ping = SWIMMessage.ping(seq: localSeq, target: targetName, source: localMember.address, sourceName: localName)
            return [packet(ping, to: target)]
        case .ack(let seq):
            if var current = probe, current.seq == seq {
                probe = nil
                awareness.apply(-1)
                current.endAt = now
                nextProbeAt = max(nextProbeAt, now)
                return [.probed(node: current.target, acked: true, duration: now - current.started)]
            }
            if let relay = relays.removeValue(forKey: seq) {
                return [packet(.ack(seq: relay.originSeq), to: relay.origin)]
            }
            return []
        case .nack(let seq):
            if probe?.seq == seq { probe?.nacks += 1 }
            return []
        case .suspect(let incarnation, let node, let from):
            return suspectNode(incarnation: incarnation, node: node, from: from, now: now)
        case .alive(let announcement):
            return aliveNode(announcement, now: now)
        case .dead(let incarnation, let node, let from):
            return deadNode(incarnation: incarnation, node: node, from: from, now: now)
        case .user:
            return []
        }
    }

    /// A ping received over a stream (the TCP fallback): the ack to write back, or nil when it names another member.
    public func answer(streamPing message: SWIMMessage) -> SWIMMessage? {
        guard case .ping(let seq, let target, _, _) = message, target.isEmpty || target == localName else { return nil }
        return .ack(seq: seq)
    }

    /// The outcome of a ``Action/probeOverStream(ping:to:deadline:)``.
    public mutating func streamProbeCompleted(seq: UInt32, contacted: Bool, now: NIODeadline) {
        if contacted, probe?.seq == seq { probe?.fallbackContacted = true }
    }

    /// A remote state from a push-pull (memberlist `mergeState`).
    public mutating func merge(_ remote: [RemoteNodeState], now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        for node in remote {
            switch node.state {
            case .alive:
                actions += aliveNode(.init(incarnation: node.incarnation, node: node.name, address: node.address, meta: node.meta, versions: node.versions), now: now)
            case .left:
                actions += deadNode(incarnation: node.incarnation, node: node.name, from: node.name, now: now)
            case .dead, .suspect:
                actions += suspectNode(incarnation: node.incarnation, node: node.name, from: localName, now: now)
            }
        }
        return actions
    }

    /// memberlist `verifyProtocol`, checked before a join's push-pull is merged: every alive member's current
    /// protocol and delegate versions, here and in `remote`, must lie within the range all alive members
    /// understand. Returns why not, or nil.
    public func incompatibility(with remote: [RemoteNodeState]) -> String? {
        var maxPMin: UInt8 = 0, minPMax: UInt8 = .max, maxDMin: UInt8 = 0, minDMax: UInt8 = .max
        let known = nodes.values.filter { $0.state == .alive }.compactMap(\.versions)
        let theirs = remote.filter { $0.state == .alive }.compactMap(\.versions)
        for versions in known + theirs {
            maxPMin = max(maxPMin, versions.protocolMin)
            minPMax = min(minPMax, versions.protocolMax)
            maxDMin = max(maxDMin, versions.delegateMin)
            minDMax = min(minDMax, versions.delegateMax)
        }
        let everyone = remote.map { ($0.name, $0.versions) } + nodes.values.map { ($0.name, $0.versions) }
        for (name, versions) in everyone {
            guard let versions else { continue }
            if versions.protocolCurrent < maxPMin || versions.protocolCurrent > minPMax {
                return "node '\(name)' protocol version (\(versions.protocolCurrent)) is incompatible: [\(maxPMin), \(minPMax)]"
            }
            if versions.delegateCurrent < maxDMin || versions.delegateCurrent > minDMax {
                return "node '\(name)' delegate protocol version (\(versions.delegateCurrent)) is incompatible: [\(maxDMin), \(minDMax)]"
            }
        }
        return nil
    }

    /// Runs every timer due at `now`.
    public mutating func tick(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        // In name and sequence order, not the dictionaries' (seeded per process), so that a seeded run replays.
        for (name, suspicion) in suspicions.sorted(by: { $0.key < $1.key }) where suspicion.deadline <= now {
            suspicions[name] = nil
            if let entry = nodes[name], entry.state == .suspect, entry.stateChange == suspicion.start {
                actions += deadNode(incarnation: entry.incarnation, node: name, from: localName, now: now)
            }
        }
        for (seq, relay) in relays.sorted(by: { $0.key < $1.key }) where relay.deadline <= now {
            relays[seq] = nil
            if relay.wantsNack { actions.append(packet(.nack(seq: relay.originSeq), to: relay.origin)) }
        }
        if let current = probe {
            if !current.indirectSent, current.indirectAt <= now {
                actions += startIndirectProbe(now: now)
            }
            if let current = probe, current.indirectSent, current.endAt <= now {
                actions += endFailedProbe(current, now: now)
            }
        }
        if probe == nil, nextProbeAt <= now {
            actions += startProbe(now: now)
        }
        if nextGossipAt <= now {
            nextGossipAt = now + configuration.gossipInterval
            actions += gossip(now: now)
        }
        if nextPushPullAt <= now {
            nextPushPullAt = now + configuration.pushPullInterval(members: nodes.count)
            let candidates = order.compactMap { nodes[$0] }.filter { $0.name != localName && $0.state == .alive }
            if let peer = candidates.randomElement(using: &random) {
                actions.append(.pushPull(with: peer.address, join: false))
            }
        }
        if hasLeft, !leaveSpread {
            let others = nodes.values.contains { $0.name != localName && $0.state == .alive }
            if !others || queue.takeFinished().contains(localName) { leaveSpread = true }
        } else {
            _ = queue.takeFinished()
        }
        actions += reaped.map { .removed($0) }
        reaped.removeAll()
        return actions
    }

    /// Queues a message of the layer above (serf's join and leave intents) for gossip with the others; a newer one
    /// `about` the same name replaces it (memberlist gossips the delegate's broadcasts in the same packets,
    /// `getBroadcasts`).
    public mutating func enqueueUser(_ bytes: [UInt8], about name: String) {
        let message = SWIMMessage.user(bytes)
        queue.enqueue(message, about: "user:" + name, size: messageSize(message))
    }

    /// Whether a user message `about` name is still queued.
    public func hasQueuedUser(about name: String) -> Bool { queue.message(about: "user:" + name) != nil }

    /// The member listening at `address`, if any.
    public func member(at address: NodeAddress) -> NodeEntry? { nodes.values.first { $0.address == address } }

    /// Drops every queued broadcast, as when a state was loaded rather than learnt (simulations start converged).
    mutating func clearBroadcasts() { queue.removeAll() }

    // MARK: Probing

    private mutating func startProbe(now: NIODeadline) -> [Action] {
        var checked = 0
        while checked < order.count {
            if probeIndex >= order.count {
                resetNodes(now: now)
                probeIndex = 0
                checked += 1
                continue
            }
            let name = order[probeIndex]
            probeIndex += 1
            guard name != localName, let node = nodes[name], !node.isDeadOrLeft else {
                checked += 1
                continue
            }
            return probeNode(node, now: now)
        }
        nextProbeAt = now + configuration.probeInterval
        return []
    }

    private mutating func probeNode(_ node: NodeEntry, now: NIODeadline) -> [Action] {
        let interval = awareness.scale(configuration.probeInterval)
        let seq = nextSequence()
        let ping = SWIMMessage.ping(seq: seq, target: node.name, source: localMember.address, sourceName: localName)
        probe = Probe(seq: seq, target: node.name, address: node.address, started: now, indirectAt: now + configuration.probeTimeout, endAt: now + interval)
        nextProbeAt = now + configuration.probeInterval
        if node.state == .alive {
            return [packet(ping, to: node.address)]
        }
        return [.send([ping, .suspect(incarnation: node.incarnation, node: node.name, from: localName)], to: node.address)]
    }

    private mutating func startIndirectProbe(now: NIODeadline) -> [Action] {
        guard var current = probe else { return [] }
        current.indirectSent = true
        var actions: [Action] = []
        let me = localName
        let target = current.target
        let peers = randomNodes(configuration.indirectChecks) { $0.name == me || $0.name == target || $0.state != .alive }
        // Not in memberlist, on purpose: the direct ping is sent a second time, with the same sequence number, beside
        // the indirect ones. memberlist sends it once, so under random loss of a fraction p the direct path fails
        // with 1 - (1 - p)² (36 % at 20 %), and at `local` (one indirect check, four packets: 59 % lost at 20 %)
        // most missed acks become suspicions. A second try costs one packet per missed ack and leaves the time to
        // detect a dead member unchanged (the probe still ends at the same deadline).
        let ping = SWIMMessage.ping(seq: current.seq, target: current.target, source: localMember.address, sourceName: localName)
        actions.append(packet(ping, to: current.address))
        for peer in peers {
            let wantsNack = (peer.versions?.protocolMax ?? 5) >= 4
            if wantsNack { current.expectedNacks += 1 }
            actions.append(packet(.indirectPing(seq: current.seq, targetName: current.target, target: current.address, wantsNack: wantsNack, source: localMember.address, sourceName: localName), to: peer.address))
        }
        if (nodes[current.target]?.versions?.protocolMax ?? 5) >= 3 {
            actions.append(.probeOverStream(ping: ping, to: current.address, deadline: current.endAt))
        }
        probe = current
        return actions
    }

    private mutating func endFailedProbe(_ current: Probe, now: NIODeadline) -> [Action] {
        probe = nil
        nextProbeAt = max(nextProbeAt, now)
        if current.fallbackContacted {
            // memberlist: reachable over TCP but not UDP; the network may be misconfigured, but the member lives.
            awareness.apply(-1)
            return [.probed(node: current.target, acked: true, duration: now - current.started)]
        }
        awareness.apply(current.expectedNacks > 0 ? current.expectedNacks - current.nacks : 1)
        var actions: [Action] = [.probed(node: current.target, acked: false, duration: now - current.started)]
        if let node = nodes[current.target] {
            let raised = suspectNode(incarnation: node.incarnation, node: node.name, from: localName, now: now)
            actions += raised
            // Lifeguard's buddy system, sooner than memberlist: memberlist tells a suspect member of its suspicion
            // when it next probes it (the ping-and-suspect compound, `probeNode`), a round of probes later; the
            // gossip of the suspicion reaches it only if it is among the few members the broadcast is sent to.
            // Here the member that raised the suspicion also sends it straight to the suspect, so that a member
            // that is only lossy refutes within a round trip instead of racing a second accuser's confirmation.
            if raised.contains(.suspected(node: node.name)) {
                actions.append(.send([.suspect(incarnation: node.incarnation, node: node.name, from: localName)], to: node.address))
            }
        }
        return actions
    }

    /// memberlist `resetNodes`: reap members dead or gone for longer than `gossipToTheDeadTime`, shuffle the rest.
    private mutating func resetNodes(now: NIODeadline) -> Void {
        for name in order {
            if let node = nodes[name], node.isDeadOrLeft, now - node.stateChange > configuration.gossipToTheDeadTime {
                nodes[name] = nil
                suspicions[name] = nil
                reaped.append(node)
            }
        }
        order.removeAll { nodes[$0] == nil }
        order.shuffle(using: &random)
    }

    /// Members reaped during this tick, reported as ``Action/removed(_:)``.
    private var reaped: [NodeEntry] = []

    // MARK: Gossip

    /// One message of the failure detector (ping, ack, nack, indirect ping) with as many queued broadcasts as fit
    /// beside it in the packet: memberlist's `sendMsg` (`net.go`) piggybacks them on every such packet, so news —
    /// a suspicion, the suspect's refutation — rides the probes that flow anyway, not only the gossip timer. Under
    /// loss that is what lets a refutation reach the members that suspect before their suspicion times out. The
    /// ping-and-suspect compound to a suspect member goes without, as memberlist sends it raw (`probeNode`).
    private mutating func packet(_ message: SWIMMessage, to address: NodeAddress) -> Action {
        // memberlist: UDPBufferSize - len(msg) - compoundOverhead (2, its compoundHeaderOverhead), label and encryption overhead
        // already out of packetRoom.
        let room = packetRoom - messageSize(message) - compoundOverhead
        guard room > 0, !queue.isEmpty else { return .send([message], to: address) }
        let extra = queue.take(overhead: compoundOverhead, limit: room, transmitLimit: configuration.retransmitLimit(members: nodes.count))
        return .send([message] + extra, to: address)
    }

    private mutating func gossip(now: NIODeadline) -> [Action] {
        let me = localName
        let deadTime = configuration.gossipToTheDeadTime
        let targets = randomNodes(configuration.gossipNodes) { node in
            if node.name == me { return true }
            switch node.state {
            case .alive, .suspect: return false
            case .dead: return now - node.stateChange > deadTime
            case .left: return true
            }
        }
        var actions: [Action] = []
        let limit = configuration.retransmitLimit(members: nodes.count)
        for target in targets {
            let messages = queue.take(overhead: compoundOverhead, limit: packetRoom, transmitLimit: limit)
            if messages.isEmpty { break }
            actions.append(.send(messages, to: target.address))
        }
        return actions
    }

    /// memberlist `kRandomNodes`: up to `k` distinct members not excluded, in random order.
    private mutating func randomNodes(_ k: Int, excluding exclude: (NodeEntry) -> Bool) -> [NodeEntry] {
        let n = order.count
        if n < k * 3 {
            var candidates = order.compactMap { nodes[$0] }.filter { !exclude($0) }
            candidates.shuffle(using: &random)
            return Array(candidates.prefix(k))
        }
        // memberlist samples random offsets, at most 3n of them, rather than shuffling a large table.
        var chosen: [NodeEntry] = []
        var tries = 0
        while tries < 3 * n, chosen.count < k {
            tries += 1
            let index = Int(random.next() % UInt64(n))
            guard let node = nodes[order[index]], !exclude(node), !chosen.contains(where: { $0.name == node.name }) else { continue }
            chosen.append(node)
        }
        return chosen
    }

    // MARK: State changes (memberlist aliveNode, suspectNode, deadNode)

    private mutating func aliveNode(_ alive: SWIMMessage.Announcement, now: NIODeadline) -> [Action] {
        if hasLeft, alive.node == localName { return [] }
        if let versions = alive.versions,
            versions.protocolMin == 0 || versions.protocolMax == 0 || versions.protocolMin > versions.protocolMax
        {
            return []
        }
        let isLocal = alive.node == localName
        guard var state = nodes[alive.node] else {
            let entry = NodeEntry(name: alive.node, address: alive.address, meta: alive.meta, incarnation: alive.incarnation, state: .alive, stateChange: now, versions: alive.versions)
            nodes[alive.node] = entry
            // memberlist inserts a new node at a random offset so that it is probed soon but not in join order.
            let count = order.count
            let offset = Int.random(in: 0...count, using: &random)
            order.append(alive.node)
            order.swapAt(offset, order.count - 1)
            broadcast(.alive(alive), about: alive.node)
            return [.changed(entry)]
        }
        var updatesAddress = false
        if state.address != alive.address {
            let reclaimable = configuration.deadNodeReclaimTime > .zero && now - state.stateChange > configuration.deadNodeReclaimTime
            if state.state == .left || (state.state == .dead && reclaimable) {
                updatesAddress = true
            } else {
                return [.conflict(existing: state, claimed: alive)]
            }
        }
        if alive.incarnation <= state.incarnation, !isLocal, !updatesAddress { return [] }
        if alive.incarnation < state.incarnation, isLocal { return [] }
        suspicions[alive.node] = nil
        if isLocal {
            if alive.incarnation == state.incarnation, alive.meta == state.meta, alive.versions == state.versions { return [] }
            return refute(accused: alive.incarnation)
        }
        broadcast(.alive(alive), about: alive.node)
        let before = state
        state.versions = alive.versions ?? state.versions
        state.incarnation = alive.incarnation
        state.meta = alive.meta
        state.address = alive.address
        if state.state != .alive {
            state.state = .alive
            state.stateChange = now
        }
        nodes[alive.node] = state
        return before.state != state.state || before.meta != state.meta || before.address != state.address ? [.changed(state)] : []
    }

    private mutating func suspectNode(incarnation: UInt32, node: String, from: String, now: NIODeadline) -> [Action] {
        guard var state = nodes[node] else { return [] }
        guard incarnation >= state.incarnation else {
            // An accusation this member has already refuted, from a member that has not heard the refutation yet:
            // memberlist ignores it; here the accuser gets the current alive straight away (no new incarnation).
            return node == localName && !hasLeft ? answer(accuser: from) : []
        }
        if var suspicion = suspicions[node] {
            if suspicion.confirm(from: from) {
                suspicions[node] = suspicion
                broadcast(.suspect(incarnation: incarnation, node: node, from: from), about: node)
            }
            return []
        }
        guard state.state == .alive else { return [] }
        if node == localName { return refute(accused: incarnation) + answer(accuser: from) }
        broadcast(.suspect(incarnation: incarnation, node: node, from: from), about: node)
        state.incarnation = incarnation
        state.state = .suspect
        state.stateChange = now
        nodes[node] = state
        let n = nodes.count
        var k = configuration.suspicionMult - 2
        if n - 2 < k { k = 0 }
        let minimum = configuration.suspicionTimeout(members: n)
        suspicions[node] = Suspicion(from: from, expected: k, minimum: minimum, maximum: minimum * Int64(configuration.suspicionMaxTimeoutMult), now: now)
        return [.changed(state), .suspected(node: node)]
    }

    private mutating func deadNode(incarnation: UInt32, node: String, from: String, now: NIODeadline) -> [Action] {
        guard var state = nodes[node] else { return [] }
        guard incarnation >= state.incarnation else {
            return node == localName && !hasLeft ? answer(accuser: from) : []
        }
        suspicions[node] = nil
        if state.isDeadOrLeft { return [] }
        let message = SWIMMessage.dead(incarnation: incarnation, node: node, from: from)
        if node == localName {
            if !hasLeft { return refute(accused: incarnation) + answer(accuser: from) }
            broadcast(message, about: node, notify: true)
        } else {
            broadcast(message, about: node)
        }
        state.incarnation = incarnation
        state.state = node == from ? .left : .dead
        state.stateChange = now
        nodes[node] = state
        return [.changed(state)]
    }

    /// Not in memberlist, on purpose: the refutation is also sent straight to the member that accused this one (it
    /// names itself in `from`), beside the broadcast, which reaches only `retransmit_mult × log10(n)` members and
    /// under loss may miss the accuser until its suspicion runs out.
    private mutating func answer(accuser: String) -> [Action] {
        guard accuser != localName, let accuser = nodes[accuser], !accuser.isDeadOrLeft, let local = nodes[localName] else { return [] }
        return [.send([.alive(announcement(of: local))], to: accuser.address)]
    }

    /// memberlist `refute`: a higher incarnation than the accusation, announced; awareness rises because being
    /// accused hints that this member is the slow one.
    private mutating func refute(accused: UInt32) -> [Action] {
        guard var local = nodes[localName] else { return [] }
        var incarnation = local.incarnation &+ 1
        if accused >= incarnation { incarnation = accused &+ 1 }
        local.incarnation = incarnation
        nodes[localName] = local
        awareness.apply(1)
        broadcast(.alive(announcement(of: local)), about: localName)
        return [.refuted(accused: accused, incarnation: incarnation)]
    }

    // MARK: Helpers

    private func announcement(of entry: NodeEntry) -> SWIMMessage.Announcement {
        .init(incarnation: entry.incarnation, node: entry.name, address: entry.address, meta: entry.meta, versions: entry.versions)
    }

    private mutating func broadcast(_ message: SWIMMessage, about node: String, notify: Bool = false) {
        queue.enqueue(message, about: node, size: messageSize(message), notifyWhenFinished: notify)
    }

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }
}
