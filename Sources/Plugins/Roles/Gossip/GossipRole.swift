import Foundation
import Logging
import Membership
import NIOCore
import NIOHTTP1
import ObjectStore
import Plugins
import Synchronization

/// A running gossip member as a ``Role``: the ``GossipNode`` with serf's layer, the ``LiveMembership`` it feeds,
/// the joins retried with backoff, the graceful leave on drain, and the admin routes.
final class GossipRole: Role {
    struct Running: Sendable {
        var node: GossipNode
        var serf: SerfDelegate
    }

    private let context: RoleContext
    private let settingsBox: Mutex<GossipSettings>
    private let running = Mutex<Running?>(nil)
    let membership: LiveMembership
    private let metrics: GossipMetrics
    private let stopped = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let isStopped = Mutex(false)
    private let joinTask = Mutex<Task<Void, Never>?>(nil)
    /// The S3 seed objects of `seeds`, by their index there, and the tasks publishing this member into them.
    private let seedObjects = Mutex<[Int: SeedObject]>([:])
    private let publishTasks = Mutex<[Task<Void, Never>]>([])
    /// Set once this member's entries have been taken out of the seed objects it publishes to.
    private let withdrawn = Mutex(false)
    /// The longest a graceful leave waits for those entries to be taken out.
    static let withdrawTimeout: Duration = .seconds(5)
    /// Failed and left members kept in the list as serf keeps them (``DepartedMembers``), and the task reaping them
    /// and trying failed ones again.
    let departed: Mutex<DepartedMembers>
    private let departedTask = Mutex<Task<Void, Never>?>(nil)
    /// The generator of `generate`'s file and the task running it, cancelled and awaited before the role stops.
    private let generator = Mutex<(generator: LoadBalancerGenerator, task: Task<Void, Never>)?>(nil)

    init(settings: GossipSettings, context: RoleContext) {
        self.context = context
        self.settingsBox = Mutex(settings)
        self.metrics = GossipMetrics(factory: context.metrics)
        self.departed = Mutex(DepartedMembers(timeouts: settings.departures, now: .now()))
        self.membership = LiveMembership(localMember: Member(
            name: context.node.name, host: settings.advertiseHost, port: settings.advertisePort, status: .alive, tags: settings.tags))
    }

    /// Where the member listens, once started.
    var address: NodeAddress? { running.withLock { $0?.node.address } }

    /// The gossip member, once started.
    var node: GossipNode? { running.withLock { $0?.node } }

    var offers: CapabilityOffers {
        var offers = CapabilityOffers()
        offers.offer(membership as any MembershipView, as: .membership)
        return offers
    }

    func start() async throws {
        let settings = settingsBox.withLock { $0 }
        let name = context.node.name
        let serf = try SerfDelegate(name: name, tags: settings.tags)
        let keyring = settings.keys.isEmpty ? nil : try Keyring(keys: settings.keys)
        let nodeSettings = GossipNode.Settings(
            name: name, bindHost: settings.bind.bindHost, bindPort: settings.bind.port,
            advertiseHost: settings.advertiseHost, advertisePort: settings.bind.port == 0 ? nil : settings.advertisePort,
            configuration: settings.timings, meta: serf.meta, label: settings.label, keyring: keyring)
        let logger = context.logger
        let membership = membership
        let metrics = metrics
        let node: GossipNode
        do {
            node = try await GossipNode.start(settings: nodeSettings, group: context.eventLoopGroup, delegate: serf) { [weak self] event in
                metrics.record(event)
                switch event {
                case .changed(let entry):
                    self?.departed.withLock { $0.update(entry, now: .now()) }
                    let member = Self.member(entry)
                    let snapshot = membership.apply(.updated(member))
                    metrics.members(Self.counts(snapshot))
                    metrics.backends(snapshot.routedApplications)
                    logger.info("gossip: member \(entry.name) at \(entry.address) is \(Self.serfStatus(entry.state))")
                case .removed(let entry):
                    // memberlist reaped it from its table; serf keeps a failed or left member until its own timeout.
                    if self?.departed.withLock({ $0.keeps(entry.name) }) ?? false { break }
                    let snapshot = membership.apply(.removed(Self.member(entry)))
                    metrics.members(Self.counts(snapshot))
                    metrics.backends(snapshot.routedApplications)
                case .log(let level, let text):
                    switch level {
                    case .debug: logger.debug("\(text)")
                    case .info: logger.info("\(text)")
                    case .warning: logger.warning("\(text)")
                    case .error: logger.error("\(text)")
                    }
                default:
                    break
                }
            }
        } catch {
            throw GossipRoleError("gossip: cannot bind \(settings.bind): \(error)")
        }
        running.withLock { $0 = Running(node: node, serf: serf) }
        await node.broadcast(userMessage: serf.joinIntent(), about: "intent")
        logger.info("gossip: listening on \(settings.bind.bindHost):\(node.address.port) (UDP and TCP), advertising \(node.address)")
        addRoutes()
        let sources = settings.seedSources
        var objects: [Int: SeedObject] = [:]
        for (index, source) in sources.enumerated() {
            guard case .s3(let seeds) = source else { continue }
            do {
                objects[index] = try SeedObject(seeds, eventLoopGroup: context.eventLoopGroup)
            } catch {
                logger.error("gossip: seed source \(source): \(error)")
            }
        }
        seedObjects.withLock { $0 = objects }
        if !sources.isEmpty { startJoining(sources) }
        startKeepingDeparted()
        startPublishing()
        await startGenerating(settings.generate)
    }

    // MARK: The load balancer's generated file

    /// Follows the membership with `generate`'s file, in place of the generator before (none: stops it).
    private func startGenerating(_ generate: GossipSettings.Generator?) async {
        let previous = generator.withLock { current in
            defer { current = nil }
            return current
        }
        previous?.task.cancel()
        await previous?.task.value
        guard let generate else { return }
        let running = LoadBalancerGenerator(
            configuration: generate.configuration, file: generate.file, debounce: generate.debounce, known: previous?.generator.known ?? [])
        let membership = membership
        let metrics = metrics
        let logger = context.logger
        let task = Task {
            await running.run(following: membership) { outcome in
                metrics.generatorRun(outcome.result)
                switch outcome {
                case .applied: logger.info("gossip: \(generate.file.target) rewritten and reloaded")
                case .unchanged: break
                case .writeFailed(let detail), .checkFailed(let detail), .reloadFailed(let detail):
                    logger.error("gossip: \(generate.file.target): \(outcome.result): \(detail)")
                }
            }
        }
        generator.withLock { $0 = (running, task) }
    }

    func run() async throws {
        await withCheckedContinuation { continuation in
            let already = isStopped.withLock { stopped in
                if stopped { return true }
                self.stopped.withLock { $0 = continuation }
                return false
            }
            if already { continuation.resume() }
        }
    }

    /// serf's graceful leave (`Leave`): the leave intent spread first, then memberlist's leave, waiting up to
    /// `leave_timeout` in all.
    func drain() async {
        joinTask.withLock { $0?.cancel() }
        await stopKeepingDeparted()
        await stopPublishing()
        await withdrawFromSeedObjects()
        guard let current = running.withLock({ $0 }) else { return }
        let timeout = settingsBox.withLock { $0.leaveTimeout }
        let deadline = ContinuousClock.now + timeout
        let intent = current.serf.leaveIntent()
        await current.node.broadcast(userMessage: intent, about: "intent")
        await current.node.sendToLiving(userMessage: intent)
        while ContinuousClock.now < deadline - timeout / 2 {
            if await current.node.userBroadcastSent(about: "intent") { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        let remaining = max(deadline - ContinuousClock.now, .milliseconds(1))
        await current.node.leave(timeout: TimeAmount(remaining))
        context.logger.info("gossip: left the cluster")
    }

    func shutdown(grace: Duration) async {
        joinTask.withLock { $0?.cancel() }
        await stopKeepingDeparted()
        await stopPublishing()
        await withdrawFromSeedObjects()
        for object in seedObjects.withLock({ objects in
            defer { objects = [:] }
            return Array(objects.values)
        }) {
            await object.shutdown()
        }
        await startGenerating(nil)
        if let current = running.withLock({ $0 }) { await current.node.shutdown() }
        membership.finish()
        let continuation = isStopped.withLock { stopped -> CheckedContinuation<Void, Never>? in
            stopped = true
            return self.stopped.withLock { continuation in
                defer { continuation = nil }
                return continuation
            }
        }
        continuation?.resume()
    }

    /// Tags are re-announced at a new incarnation (serf `SetTags`) and a new key list replaces the keyring in
    /// place (rotation without leaving: add the new key everywhere, make it first, then drop the old one);
    /// anything else restarts the member. Turning encryption on or off also restarts it, as memberlist cannot
    /// change that on a running member.
    func reconfigure(to settings: GossipSettings) async throws -> Reconfiguration {
        let old = settingsBox.withLock { $0 }
        var comparable = old
        comparable.tags = settings.tags
        comparable.applications = settings.applications
        comparable.keys = settings.keys
        comparable.generate = settings.generate
        comparable.departures = settings.departures
        guard comparable == settings, old.keys.isEmpty == settings.keys.isEmpty else { return .restartRequired }
        let keyring = settings.keys.isEmpty ? nil : try Keyring(keys: settings.keys)
        settingsBox.withLock { $0 = settings }
        departed.withLock { $0.timeouts = settings.departures }
        if let current = running.withLock({ $0 }) {
            if old.keys != settings.keys {
                await current.node.setKeyring(keyring)
                context.logger.info("gossip: keyring replaced (\(settings.keys.count) key\(settings.keys.count == 1 ? "" : "s"))")
            }
            if old.tags != settings.tags {
                await current.node.updateMeta(try current.serf.setTags(settings.tags))
            }
        }
        // Rendered again even when `generate` is unchanged: after a failed check, fixing its cause (nginx's main
        // file, say) and reloading outrider applies the file that failed, without waiting for a change of members.
        if old.generate != settings.generate || settings.generate != nil { await startGenerating(settings.generate) }
        return .applied
    }

    func status() async -> JSONValue {
        guard let current = running.withLock({ $0 }) else { return ["running": false] }
        let members = await listedMembers(of: current.node)
        var counts: [String: Int] = [:]
        for member in members { counts[Self.serfStatus(member.state), default: 0] += 1 }
        let health = await current.node.healthScore()
        var status: [(String, JSONValue)] = [
            ("address", .string(current.node.address.description)),
            ("members", .object(["alive", "suspect", "failed", "left"].map { ($0, .number(Double(counts[$0] ?? 0))) })),
            ("health_score", .number(Double(health))),
            ("applications", .array(membership.snapshot.routedApplications.map { application in
                ["name": .string(application.name), "backends": .number(Double(application.endpoints.count))]
            })),
        ]
        if let running = generator.withLock({ $0?.generator }) {
            let outcome = running.lastOutcome
            let detail: String? = switch outcome {
            case .writeFailed(let text)?, .checkFailed(let text)?, .reloadFailed(let text)?: text
            default: nil
            }
            status.append(("generator", [
                "target": .string(running.file.target),
                "last_result": outcome.map { .string($0.result) } ?? .null,
                "detail": detail.map { .string($0) } ?? .null,
            ]))
        }
        return .object(status)
    }

    // MARK: Failed and left members

    /// The member list as serf shows it: memberlist's alive and suspect members, and the failed and left ones
    /// kept (``DepartedMembers``), whether or not memberlist still holds them.
    func listedMembers(of node: GossipNode) async -> [NodeEntry] {
        let table = await node.members()
        let kept = departed.withLock { $0.entries }
        let keptNames = Set(kept.map(\.name))
        let current = table.filter { !$0.isDeadOrLeft && !keptNames.contains($0.name) }
        return (current + kept).sorted { $0.name < $1.name }
    }

    /// serf's `handleReap` and `handleReconnect` in one task: wakes at the next expiry or reconnect (at least once
    /// a second, so a departure recorded meanwhile is seen), takes the reaped members out of the view and tries
    /// a join with the failed member picked.
    private func startKeepingDeparted() {
        let logger = context.logger
        let membership = membership
        let metrics = metrics
        let task = Task { [weak self] in
            var random = SystemRandomNumberGenerator()
            while !Task.isCancelled {
                guard let self else { return }
                let now = NIODeadline.now()
                let members = membership.snapshot.members.count
                let outcome = self.departed.withLock { $0.tick(now: now, members: members, random: &random) }
                for entry in outcome.reaped {
                    logger.info("gossip: member \(entry.name) reaped after being \(Self.serfStatus(entry.state)) for its \(entry.state == .left ? "tombstone_timeout" : "reconnect_timeout")")
                    let snapshot = membership.apply(.removed(Self.member(entry)))
                    metrics.members(Self.counts(snapshot))
                    metrics.backends(snapshot.routedApplications)
                }
                if let target = outcome.reconnect, let node = self.node {
                    logger.info("gossip: attempting reconnect to \(target.name) at \(target.address)")
                    _ = await node.join([target.address])
                }
                let next = self.departed.withLock { $0.nextDeadline }
                let wait = min(max(next - .now(), .milliseconds(10)), .seconds(1))
                try? await Task.sleep(for: Duration(wait))
            }
        }
        departedTask.withLock { $0 = task }
    }

    private func stopKeepingDeparted() async {
        let task = departedTask.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    // MARK: Joining

    /// memberlist `Join` at start through the seed sources in order (`join` first), retried with backoff (1 s
    /// doubling to 30 s) until one answers: names are resolved and files and objects read again at each attempt,
    /// every address tried, this member's own address left out (a load balancer finds itself in the object it
    /// publishes to). Once another member is alive here (it joined this one), there is nothing left to find.
    private func startJoining(_ sources: [SeedSource]) {
        let logger = context.logger
        let task = Task { [weak self] in
            var delay: Duration = .seconds(1)
            while !Task.isCancelled {
                guard let self, let node = self.node else { return }
                if await node.members().contains(where: { $0.name != self.context.node.name && $0.state == .alive }) {
                    logger.info("gossip: in a cluster; seed sources no longer needed")
                    return
                }
                var problems: [String] = []
                var tried = false
                for (index, source) in sources.enumerated() {
                    if Task.isCancelled { return }
                    let targets: [NodeAddress]
                    do {
                        targets = try await self.seedAddresses(source, index: index).filter { $0 != node.address }
                    } catch {
                        problems.append("\(source): \(error)")
                        continue
                    }
                    guard !targets.isEmpty else {
                        problems.append("\(source): no address but this member's")
                        continue
                    }
                    tried = true
                    let joined = await node.join(targets)
                    if joined > 0 {
                        logger.info("gossip: joined through \(joined) of \(targets.count) address(es) from seed source \(source)")
                        return
                    }
                    problems.append("\(source): no address answered")
                }
                let text = problems.joined(separator: "; ")
                if tried || problems.contains(where: { !$0.hasSuffix("no address but this member's") }) {
                    logger.warning("gossip: no seed source led to a join (\(text)); retrying in \(delay)")
                } else {
                    logger.info("gossip: no member to join yet (\(text)); waiting to be joined, retrying in \(delay)")
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
        joinTask.withLock { $0 = task }
    }

    /// The addresses one seed source gives now.
    private func seedAddresses(_ source: SeedSource, index: Int) async throws -> [NodeAddress] {
        switch source {
        case .addresses(let entries):
            return Self.resolveJoin(entries, defaultPort: GossipSection.defaultPort)
        case .dns(let name, let type, let port, let server):
            return try await DNSLookup.seedAddresses(name: name, type: type, port: port, server: server)
        case .file(let path):
            let contents: Data
            do {
                contents = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw GossipRoleError("cannot read \(path): \(error.localizedDescription)")
            }
            return Self.resolve(try SeedList.decode(Array(contents)))
        case .s3:
            guard let object = seedObjects.withLock({ $0[index] }) else { throw GossipRoleError("no S3 client") }
            return Self.resolve(try await object.read().list)
        }
    }

    /// A seed document's entries, names resolved.
    static func resolve(_ list: SeedList) -> [NodeAddress] {
        var targets: [NodeAddress] = []
        for entry in list.entries {
            for address in GossipSection.resolve(entry.address) where !targets.contains(NodeAddress(host: address, port: entry.port)) {
                targets.append(NodeAddress(host: address, port: entry.port))
            }
        }
        return targets
    }

    // MARK: Publishing into S3 seed objects

    /// For each `s3` seed source with `publish: true`: this member's advertised address written into the object
    /// at once and then every `publish_period` plus a random part of `publish_jitter` (scrimplb's push period and
    /// jitter, so that load balancers started together do not write together forever).
    private func startPublishing() {
        let objects = seedObjects.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value).filter { $0.seeds.publish }
        guard let node, !objects.isEmpty else { return }
        let address = node.address
        let logger = context.logger
        let metrics = metrics
        let tasks = objects.map { object in
            Task {
                let target = "s3://\(object.seeds.bucket)/\(object.seeds.key)"
                var previous: String?
                while !Task.isCancelled {
                    let outcome = await object.publish(address: address.host, port: address.port) {
                        Int64(Date().timeIntervalSince1970.rounded(.down))
                    }
                    switch outcome {
                    case .published(let conflicts):
                        metrics.seedPublish("conflict", count: conflicts)
                        metrics.seedPublish("published")
                        if previous != "published" { logger.info("gossip: published \(address) into the seed object \(target)") }
                        previous = "published"
                    case .failed(let detail, let conflicts):
                        metrics.seedPublish("conflict", count: conflicts)
                        metrics.seedPublish("failed")
                        logger.warning("gossip: cannot publish \(address) into the seed object \(target): \(detail)")
                        previous = "failed"
                    }
                    let jitter = object.seeds.publishJitter.components
                    let jitterNanoseconds = jitter.seconds * 1_000_000_000 + jitter.attoseconds / 1_000_000_000
                    let delay = object.seeds.publishPeriod + .nanoseconds(jitterNanoseconds > 0 ? Int64.random(in: 0...jitterNanoseconds) : 0)
                    try? await Task.sleep(for: delay)
                }
            }
        }
        publishTasks.withLock { $0 = tasks }
    }

    /// On a graceful leave, this member's entry taken out of each seed object it publishes to (one conditional
    /// read-modify-write each, as a publish), so that members starting later do not try a load balancer that is
    /// gone until its entry ages out. Bounded by ``withdrawTimeout``; a store that fails or is slow is logged and
    /// counted, and the entry then ages out as before. Done once, by the drain or else by the shutdown.
    private func withdrawFromSeedObjects() async {
        let objects = seedObjects.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value).filter { $0.seeds.publish }
        guard !objects.isEmpty, let address else { return }
        guard withdrawn.withLock({ done in
            defer { done = true }
            return !done
        }) else { return }
        let logger = context.logger
        let metrics = metrics
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { each in
                    for object in objects {
                        each.addTask {
                            let target = "s3://\(object.seeds.bucket)/\(object.seeds.key)"
                            switch await object.withdraw(address: address.host, port: address.port) {
                            case .withdrawn(let conflicts):
                                metrics.seedPublish("conflict", count: conflicts)
                                metrics.seedPublish("withdrawn")
                                logger.info("gossip: took \(address) out of the seed object \(target)")
                            case .failed(let detail, let conflicts):
                                metrics.seedPublish("conflict", count: conflicts)
                                metrics.seedPublish("failed")
                                logger.warning("gossip: cannot take \(address) out of the seed object \(target) (it ages out instead): \(detail)")
                            }
                        }
                    }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: Self.withdrawTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished {
            logger.warning("gossip: taking \(address) out of the seed objects took over \(Self.withdrawTimeout); left to age out")
        }
    }

    private func stopPublishing() async {
        let tasks = publishTasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    static func resolveJoin(_ entries: [String], defaultPort: Int) -> [NodeAddress] {
        var targets: [NodeAddress] = []
        for entry in entries {
            guard let (host, port) = try? GossipSection.splitHostPort(entry, defaultPort: GossipSection.defaultPort) else { continue }
            for address in GossipSection.resolve(host) { targets.append(NodeAddress(host: address, port: port)) }
        }
        return targets
    }

    // MARK: Admin

    private func addRoutes() {
        let admin = context.admin
        admin.add(.GET, "/members") { [weak self] _ in
            guard let self, let node = self.node else { throw AdminError.serviceUnavailable("gossip is not running") }
            let members = await self.listedMembers(of: node)
            return .json(["members": .array(members.map(Self.json))])
        }
        admin.add(.POST, "/join") { [weak self] request in
            guard let self, let node = self.node else { throw AdminError.serviceUnavailable("gossip is not running") }
            let body = Data(request.body.readableBytesView)
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let addresses = object["addresses"] as? [String], !addresses.isEmpty else {
                throw AdminError.badRequest("expected {\"addresses\": [\"host:port\", ...]}")
            }
            let targets = Self.resolveJoin(addresses, defaultPort: GossipSection.defaultPort)
            let joined = targets.isEmpty ? 0 : await node.join(targets)
            guard joined > 0 else { throw AdminError.conflict("no address answered: \(addresses.joined(separator: ", "))") }
            return .json(["joined": .number(Double(joined))])
        }
        admin.add(.GET, "/applications") { [membership] _ in
            .json(["applications": .array(membership.snapshot.routedApplications.map { application in
                [
                    "name": .string(application.name),
                    "protocol": .string(application.transport.rawValue),
                    "listen_ports": .array(application.listenPorts.map { .number(Double($0)) }),
                    "domains": .array(application.domains.map { .string($0) }),
                    "backends": .array(application.endpoints.map { endpoint in
                        var fields: [(String, JSONValue)] = [
                            ("member", .string(endpoint.member)), ("address", .string(endpoint.host)), ("port", .number(Double(endpoint.port))),
                        ]
                        // As the proxy's health checks find it, per site that routes to it, when a proxy runs here.
                        if let health = membership.endpointHealth, let url = endpoint.url {
                            fields.append(("health", .object(health.status(of: url).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
                        }
                        return JSONValue.object(fields)
                    }),
                ]
            })])
        }
        admin.add(.POST, "/leave") { [weak self] _ in
            guard let self else { throw AdminError.serviceUnavailable("gossip is not running") }
            await self.drain()
            return .json(["left": true])
        }
    }

    static func json(_ entry: NodeEntry) -> JSONValue {
        let tags = ((try? SerfTags.decode(entry.meta)) ?? [:])
        let versions = entry.versions
        return [
            "name": .string(entry.name),
            "address": .string(entry.address.host),
            "port": .number(Double(entry.address.port)),
            "status": .string(serfStatus(entry.state)),
            "tags": .object(tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }),
            "incarnation": .number(Double(entry.incarnation)),
            "protocol": .object([
                ("min", .number(Double(versions?.protocolMin ?? 0))), ("max", .number(Double(versions?.protocolMax ?? 0))),
                ("current", .number(Double(versions?.protocolCurrent ?? 0))),
                ("delegate_min", .number(Double(versions?.delegateMin ?? 0))), ("delegate_max", .number(Double(versions?.delegateMax ?? 0))),
                ("delegate_current", .number(Double(versions?.delegateCurrent ?? 0))),
            ]),
        ]
    }

    static func counts(_ snapshot: MembershipSnapshot) -> [String: Int] {
        var counts: [String: Int] = [:]
        for member in snapshot.members {
            let status =
                switch member.status {
                case .alive: "alive"
                case .suspect: "suspect"
                case .dead: "failed"
                case .left: "left"
                }
            counts[status, default: 0] += 1
        }
        return counts
    }

    /// Status in serf's words: memberlist's dead is serf's `failed`.
    static func serfStatus(_ state: NodeEntry.State) -> String {
        switch state {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "failed"
        case .left: "left"
        }
    }

    static func member(_ entry: NodeEntry) -> Member {
        let status: Member.Status =
            switch entry.state {
            case .alive: .alive
            case .suspect: .suspect
            case .dead: .dead
            case .left: .left
            }
        return Member(name: entry.name, host: entry.address.host, port: entry.address.port, status: status, tags: ((try? SerfTags.decode(entry.meta)) ?? [:]))
    }
}

struct GossipRoleError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
