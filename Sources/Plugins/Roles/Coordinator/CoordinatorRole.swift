import AsyncHTTPClient
import CertificateFiles
import Coordination
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Plugins
import Synchronization

/// A running member of a coordinator group as a ``Role``: the store, the ``CoordinatorMember`` running the lease
/// cycle, the peer listener other members call, and the local API under `/v1/coordinator/`.
final class CoordinatorRole: Role {
    let settings: CoordinatorSettings
    let context: RoleContext
    let logger: Logger
    let metrics: CoordinatorMetrics
    let peerToken: PeerToken?
    let client: HTTPClient
    let peerWork = AdminWork()
    /// Wakes the watches on this member when a commit goes through it.
    let commits = CommitNotices()

    struct Running: Sendable {
        var store: any CoordinationStore
        var member: CoordinatorMember
        /// A follower's clients' Puts on their way to the leader, in batches.
        var forwarder: PutForwarder
        var peerServer: AdminServer
        var address: String
        /// `peer.tls` as loaded, and the repeated check for renewed files.
        var credentials: WatchedFiles<PeerCredentials>?
        var credentialsCheck: RepeatedTask?
    }

    /// How often `peer.tls`'s files are checked for change, as the proxy's listeners do; a reload also checks.
    static let credentialsCheckInterval: TimeAmount = .seconds(10)

    private let state = Mutex<Running?>(nil)
    private let drained = Mutex(false)

    /// Whether the role is stopping: calls through the leader are no longer sent again.
    var isDraining: Bool { drained.withLock { $0 } }

    init(settings: CoordinatorSettings, context: RoleContext) {
        self.settings = settings
        self.context = context
        self.logger = context.logger
        self.metrics = CoordinatorMetrics(factory: context.metrics)
        self.peerToken = settings.peer.token.map(PeerToken.init)
        var configuration = HTTPClient.Configuration()
        // Every call passes its own deadline; the read timeout only has to outlast the longest (an acquire's 60 s wait).
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(75))
        self.client = HTTPClient(eventLoopGroupProvider: .shared(context.eventLoopGroup), configuration: configuration)
    }

    var running: Running {
        get throws(AdminError) {
            guard let running = state.withLock({ $0 }) else { throw AdminError.serviceUnavailable("the coordinator is not running") }
            return running
        }
    }

    func start() async throws {
        let store: any CoordinationStore
        switch settings.store {
        case .sqlite(let path):
            store = try await SQLiteCoordinationStore.open(path: path, eventLoopGroup: context.eventLoopGroup, logger: logger)
        case .postgres(let url):
            store = try PostgresCoordinationStore(url: url, eventLoopGroup: context.eventLoopGroup, logger: logger)
        }
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        var credentials: WatchedFiles<PeerCredentials>?
        if let tls = settings.peer.tls {
            do {
                credentials = try WatchedFiles(paths: tls.paths) { try PeerCredentials.load(tls) }
            } catch {
                await store.close()
                throw PeerCredentials.Problem(file: nil, reason: "roles.coordinator.peer.tls: \(error)")
            }
        }
        let peerRoutes = AdminRouteTable()
        let peerServer: AdminServer
        var prepareConnection: (@Sendable (any Channel) throws -> Void)?
        if let credentials {
            let metrics = metrics, logger = logger
            // Each connection takes the credentials current when it is accepted, so a renewed CA applies to new
            // connections. The verification records its verdict and lets the handshake complete whatever it is:
            // the routes answer an unverified caller 401 (CoordinatorRole+Peer).
            prepareConnection = { channel in
                let current = credentials.value
                let verifier = current.clientVerifier
                let watcher = PeerHandshakeWatcher(metrics: metrics, logger: logger)
                let tls = NIOSSLServerHandler(context: current.server) { presented, promise in
                    promise.completeWithTask {
                        watcher.record(await verifier.verify(presented, at: Date()))
                        return .certificateVerified
                    }
                }
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(tls)
                try sync.addHandler(watcher)
            }
        }
        do {
            peerServer = try await AdminServer.bind(
                host: settings.peer.listen.host.isEmpty ? "0.0.0.0" : settings.peer.listen.host,
                port: settings.peer.listen.port,
                endpoints: .init(metrics: { "" }, healthy: { true }, status: { .null }, routes: peerRoutes),
                eventLoopGroup: context.eventLoopGroup,
                work: peerWork,
                logger: logger,
                prepareConnection: prepareConnection
            )
        } catch {
            await store.close()
            throw BindFailure(what: "roles.coordinator.peer.listen", address: "\(settings.peer.listen)", error: error)
        }
        var credentialsCheck: RepeatedTask?
        if credentials != nil {
            let interval = Self.credentialsCheckInterval
            credentialsCheck = context.eventLoopGroup.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
                self?.reloadCredentials()
            }
        }
        let port = peerServer.localAddress?.port ?? settings.peer.listen.port
        let address = settings.peer.advertise ?? Self.advertisedAddress(listenHost: settings.peer.listen.host, port: port)
        let member = CoordinatorMember(
            configuration: .init(group: settings.group, name: context.node.name, address: address, lease: settings.lease, idempotencyRetention: settings.idempotencyTTL),
            store: store,
            logger: logger,
            onLeaderChange: { [weak self] leader in self?.leaderChanged(leader) },
            onStoreChange: { [weak self] fault in self?.metrics.storeUp.record(fault == nil ? 1 : 0) }
        )
        let forwarder = PutForwarder { [weak self] puts in
            guard let self else { return puts.map { _ in .failure(AdminError.serviceUnavailable("the coordinator is not running")) } }
            return await self.forwardPuts(puts)
        }
        state.withLock {
            $0 = Running(store: store, member: member, forwarder: forwarder, peerServer: peerServer, address: address, credentials: credentials, credentialsCheck: credentialsCheck)
        }
        addPeerRoutes(peerRoutes.routes(for: "peer"))
        addRoutes(context.admin)
        logger.info("coordinator peer listening", metadata: [
            "address": "\(peerServer.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?")",
            "advertise": "\(address)", "group": "\(settings.group)", "store": "\(settings.store)",
            "tls": "\(credentials == nil ? "off" : "mutual")",
        ])
    }

    /// `host:port` for the other members: the listen host, or the host's first non-loopback IPv4 address when it
    /// listens on every interface.
    static func advertisedAddress(listenHost: String, port: Int) -> String {
        if !listenHost.isEmpty, listenHost != "0.0.0.0", listenHost != "::" {
            return listenHost.contains(":") ? "[\(listenHost)]:\(port)" : "\(listenHost):\(port)"
        }
        let interfaces = (try? System.enumerateDevices()) ?? []
        let address = interfaces.compactMap { device -> String? in
            guard let address = device.address, case .v4 = address, let ip = address.ipAddress, !ip.hasPrefix("127.") else { return nil }
            return ip
        }.first ?? "127.0.0.1"
        return "\(address):\(port)"
    }

    func run() async throws {
        let running = try running
        await withDiscardingTaskGroup { group in
            group.addTask { await running.member.run() }
            group.addTask { await self.peerWork.run() }
        }
    }

    /// Releases the lease this member holds and tells the other members at once, so that one of them takes it
    /// within a tick of its loop instead of waiting for the term to expire.
    func drain() async {
        guard let running = state.withLock({ $0 }), !drained.withLock({ let was = $0; $0 = true; return was }) else { return }
        guard await running.member.stop() else { return }
        let members = (try? await running.store.members(group: settings.group).members) ?? []
        await withTaskGroup(of: Void.self) { group in
            for member in members where member.name != context.node.name {
                group.addTask {
                    _ = try? await self.callPeer(member.address, kind: "released", path: "/v1/peer/released", body: ByteBuffer(), timeout: .milliseconds(500))
                }
            }
        }
    }

    func shutdown(grace: Duration) async {
        await drain()
        guard let running = state.withLock({ $0 }) else {
            try? await client.shutdown()
            return
        }
        running.credentialsCheck?.cancel()
        await running.peerServer.stop()
        peerWork.finish()
        await running.store.close()
        try? await client.shutdown()
    }

    /// Renewed `peer.tls` files are taken in place (new connections use them, open ones keep theirs); any other
    /// change restarts the member.
    func reconfigure(to settings: CoordinatorSettings) async throws -> Reconfiguration {
        guard settings.ignoringFileChanges == self.settings.ignoringFileChanges else { return .restartRequired }
        reloadCredentials()
        return .applied
    }

    /// Loads `peer.tls` again if one of its files changed; a file that does not load keeps the previous
    /// credentials (logged), as the proxy does with its certificates.
    func reloadCredentials() {
        guard let credentials = state.withLock({ $0?.credentials }), let tls = settings.peer.tls else { return }
        switch credentials.reloadIfChanged() {
        case .unchanged: break
        case .reloaded: logger.info("peer TLS certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
        case .failed(let error): logger.warning("peer TLS certificate reload failed", metadata: ["certificate": "\(tls.certificatePath)", "error": "\(error)"])
        }
    }

    func status() async -> JSONValue {
        guard let running = state.withLock({ $0 }) else { return ["state": "stopped"] }
        let leader = await running.member.leader
        let fault = await running.member.fault
        return [
            "group": .string(settings.group),
            "member": .string(context.node.name),
            "address": .string(running.address),
            "store": .string(settings.store.description),
            "peer_authentication": .string(settings.peer.tls == nil ? (peerToken == nil ? "none" : "token") : (peerToken == nil ? "mutual TLS" : "mutual TLS and token")),
            "store_up": .bool(fault == nil),
            "store_error": fault.map(JSONValue.string) ?? .null,
            "healthy": .bool(fault == nil),
            "leader": leader.map { JSONValue.string($0.name) } ?? .null,
            "token": leader.map { JSONValue.number(Double($0.token.value)) } ?? .null,
            "is_leader": .bool(leader?.isSelf == true),
        ]
    }

    // MARK: Leadership notices

    private let lastAnnounced = Mutex<LeaderView?>(nil)

    func leaderChanged(_ leader: LeaderView?) {
        metrics.isLeader.record(leader?.isSelf == true ? 1 : 0)
        if let leader { metrics.fencingToken.record(Int64(leader.token.value)) }
        let changed = lastAnnounced.withLock { last -> Bool in
            defer { last = leader ?? last }
            return leader != nil && leader != last
        }
        guard changed, let leader else { return }
        metrics.leaderChanges.increment()
        guard let url = settings.handlers.leaderChanged else { return }
        let body: JSONValue = ["leader": .string(leader.name), "token": .number(Double(leader.token.value)), "self": .bool(leader.isSelf)]
        let client = client, logger = logger
        Task {
            do {
                _ = try await Self.post(client: client, url: url, body: ByteBuffer(string: body.rendered()), contentType: "application/json", timeout: .seconds(5))
            } catch {
                logger.warning("handlers.leader_changed failed: \(error)")
            }
        }
    }

    // MARK: HTTP calls

    struct Reply: Sendable {
        var status: Int
        var body: ByteBuffer
        var contentType: String?
        /// The leader's `Idempotent-Replayed: true`, passed on to the client with the reply.
        var replayed = false
    }

    static func post(client: HTTPClient, url: String, body: ByteBuffer, contentType: String, headers: [(String, String)] = [], tls: TLSConfiguration? = nil, timeout: Duration) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.tlsConfiguration = tls
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
        let reply = try await response.body.collect(upTo: 16 << 20)
        return Reply(
            status: Int(response.status.code), body: reply, contentType: response.headers.first(name: "Content-Type"),
            replayed: response.headers.first(name: "Idempotent-Replayed") == "true")
    }

    /// A call to another member's peer listener.
    /// Over mutual TLS when `peer.tls` is set, with the token when `peer.token` is.
    func callPeer(_ address: String, kind: String, path: String, body: ByteBuffer, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Reply {
        let tls = state.withLock { $0?.credentials }?.value.client
        do {
            let reply = try await Self.post(
                client: client, url: "\(tls == nil ? "http" : "https")://\(address)\(path)", body: body, contentType: "application/octet-stream",
                headers: (peerToken.map { [("Authorization", $0.header)] } ?? []) + headers, tls: tls, timeout: timeout)
            metrics.peerRequest(kind: kind, result: reply.status == 401 ? "unauthorized" : "ok")
            return reply
        } catch {
            metrics.peerRequest(kind: kind, result: "error")
            throw error
        }
    }
}
