import NIOCore
import NIOPosix

/// One gossip member on the network: the ``SWIMStateMachine`` driven on one event loop, memberlist's UDP packets
/// and TCP streams (`net.go`, `transport.go`) on NIO.
///
/// Packets are framed by ``PacketFrame`` (label, encryption, CRC for peers of protocol 5 and up, LZW when it
/// helps) and unpacked by ``PacketContents``; streams (push-pull, the TCP fallback ping, user messages) by
/// ``StreamFrame``, after the label header the dialer writes first. The machine's timers become one task scheduled at its ``SWIMStateMachine/nextDeadline``.
///
/// Sendable because every mutable property is read and written on ``eventLoop`` only: each entry point hops
/// there first (`execute`, `submit`, `flatSubmit`) and NIO runs channel callbacks there, since both channels are
/// bound on that loop.
public final class GossipNode: @unchecked Sendable {
    public struct Settings: Sendable {
        public var name: String
        public var bindHost: String
        /// 0 picks a free port (the same for UDP and TCP).
        public var bindPort: Int
        /// What the others are told; nil: the bound address, which must then be routable.
        public var advertiseHost: String?
        public var advertisePort: Int?
        public var configuration: SWIMConfiguration
        public var meta: [UInt8]
        public var label: String
        public var keyring: Keyring?
        public var compress: Bool

        public init(name: String, bindHost: String, bindPort: Int, advertiseHost: String? = nil, advertisePort: Int? = nil, configuration: SWIMConfiguration, meta: [UInt8], label: String = "", keyring: Keyring? = nil, compress: Bool = true) {
            self.name = name
            self.bindHost = bindHost
            self.bindPort = bindPort
            self.advertiseHost = advertiseHost
            self.advertisePort = advertisePort
            self.configuration = configuration
            self.meta = meta
            self.label = label
            self.keyring = keyring
            self.compress = compress
        }
    }

    public let eventLoop: any EventLoop
    public let address: NodeAddress
    private var machine: SWIMStateMachine
    private var packetFrame: PacketFrame
    private var streamFrame: StreamFrame
    private var compress: Bool
    /// The channel reading the UDP socket; sends go through ``sender``, a duplicate of its descriptor.
    private var udp: (any Channel)?
    private var sender: UDPSocket?
    private var tcp: (any Channel)?
    /// Failed sends since the last one logged, and when that was: one line per ``sendLogInterval`` at most.
    private var unloggedSendFailures = 0
    private var lastSendLog: NIODeadline?
    static let sendLogInterval: TimeAmount = .seconds(10)
    private var timer: Scheduled<Void>?
    private var closed = false
    private let delegate: (any GossipDelegate)?
    fileprivate let observe: @Sendable (GossipEvent) -> Void
    private var lastHealth = 0

    private init(eventLoop: any EventLoop, address: NodeAddress, machine: SWIMStateMachine, settings: Settings, delegate: (any GossipDelegate)?, observe: @escaping @Sendable (GossipEvent) -> Void) {
        self.eventLoop = eventLoop
        self.address = address
        self.machine = machine
        self.packetFrame = PacketFrame(label: settings.label, keyring: settings.keyring)
        self.streamFrame = StreamFrame(label: settings.label, keyring: settings.keyring, compress: settings.compress)
        self.compress = settings.compress
        self.delegate = delegate
        self.observe = observe
    }

    /// Binds UDP then TCP on the same port and starts the protocol, alone until ``join(_:)``.
    public static func start(settings: Settings, group: any EventLoopGroup, seed: UInt64 = UInt64.random(in: .min ... .max), delegate: (any GossipDelegate)?, observe: @escaping @Sendable (GossipEvent) -> Void) async throws -> GossipNode {
        let eventLoop = group.next()
        let holder = NodeHolder()
        // With port 0 the system picks a free UDP port, which TCP may already have in use: try again, as
        // memberlist's transport does when it is given port 0 (`net_transport.go`, `NewNetTransport`).
        var attempt = 0
        var bound: (udp: any Channel, sender: UDPSocket, tcp: any Channel)?
        while bound == nil {
            attempt += 1
            let socket = try UDPSocket.bound(host: settings.bindHost, port: settings.bindPort)
            let sender: UDPSocket
            let udp: any Channel
            do {
                sender = try socket.duplicate()
            } catch {
                socket.close()
                throw error
            }
            do {
                udp = try await bindDatagram(socket, holder: holder, on: eventLoop).get()
            } catch {
                // The descriptor is NIO's once handed over (a channel that fails to register closes it); the duplicate is ours.
                sender.close()
                throw error
            }
            let port = udp.localAddress?.port ?? settings.bindPort
            do {
                let tcp = try await ServerBootstrap(group: eventLoop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(GossipStreamHandler(holder: holder, role: .accepted))
                        }
                    }
                    .bind(host: settings.bindHost, port: port).get()
                bound = (udp, sender, tcp)
            } catch {
                try? await udp.close()
                sender.close()
                if settings.bindPort != 0 || attempt >= 10 { throw error }
            }
        }
        guard let (udp, sender, tcp) = bound else { throw GossipTransportError.timeout }
        let port = udp.localAddress?.port ?? settings.bindPort
        let address = NodeAddress(host: settings.advertiseHost ?? settings.bindHost, port: settings.advertisePort ?? port)
        let made = eventLoop.submit {
            var machine = SWIMStateMachine(configuration: settings.configuration, name: settings.name, address: address, meta: settings.meta, seed: seed, now: .now(), messageSize: { $0.wire.encoded().count })
            machine.packetRoom = settings.configuration.packetSize - 12 - (settings.keyring == nil ? 0 : Keyring.encryptedLength(.v1, plaintext: 0) + 1) - (settings.label.isEmpty ? 0 : settings.label.utf8.count + 2)
            let node = GossipNode(eventLoop: eventLoop, address: address, machine: machine, settings: settings, delegate: delegate, observe: observe)
            node.udp = udp
            node.sender = sender
            node.tcp = tcp
            node.watch(udp)
            holder.node = node
            node.observe(.changed(node.machine.localMember))
            node.schedule()
            return node
        }
        do {
            return try await made.get()
        } catch {
            // The event loop is shutting down: nothing owns the sockets yet.
            try? await udp.close()
            try? await tcp.close()
            sender.close()
            throw error
        }
    }

    private static func bindDatagram(_ socket: UDPSocket, holder: NodeHolder, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(GossipDatagramHandler(holder: holder)) }
            }
            .withBoundSocket(socket.descriptor)
    }

    /// Nothing is written through the UDP channel (sends go through ``sender``), so NIO has no write error to
    /// close it for; should it close anyway (a read error), the member can no longer hear gossip, and says so.
    private func watch(_ channel: any Channel) {
        channel.closeFuture.whenComplete { [self] _ in
            eventLoop.execute {
                guard !self.closed, self.udp === channel else { return }
                self.observe(.log(level: .error, "gossip: the UDP socket's reading channel closed; this member no longer hears gossip"))
            }
        }
    }

    // MARK: Reading

    public func members() async -> [NodeEntry] {
        (try? await eventLoop.submit { self.machine.members }.get()) ?? []
    }

    public func localMember() async -> NodeEntry? {
        try? await eventLoop.submit { self.machine.localMember }.get()
    }

    public func healthScore() async -> Int {
        (try? await eventLoop.submit { self.machine.healthScore }.get()) ?? 0
    }

    // MARK: Commands

    /// Push-pull joins with each address (memberlist `Join`); returns how many answered.
    public func join(_ addresses: [NodeAddress]) async -> Int {
        var joined = 0
        for target in addresses {
            do {
                try await eventLoop.flatSubmit { self.pushPull(with: target, join: true) }.get()
                joined += 1
            } catch {
                observe(.log(level: .warning, "gossip: join with \(target) failed: \(error)"))
            }
        }
        return joined
    }

    /// Queues a message of the layer above (serf's intents) for gossip; a newer one `about` the same name replaces
    /// it. Returns once queued.
    public func broadcast(userMessage: [UInt8], about name: String) async {
        try? await eventLoop.submit { self.machine.enqueueUser(userMessage, about: name) }.get()
    }

    /// Sends a user message (serf's leave intent) once, straight to every member alive or suspect here, beside
    /// its broadcast (``SWIMStateMachine/sendUserToLiving(_:)``).
    public func sendToLiving(userMessage: [UInt8]) async {
        try? await eventLoop.submit { self.perform(self.machine.sendUserToLiving(userMessage)) }.get()
    }

    /// Whether the user broadcast `about` name has been sent its full count.
    public func userBroadcastSent(about name: String) async -> Bool {
        (try? await eventLoop.submit { !self.machine.hasQueuedUser(about: name) }.get()) ?? true
    }

    /// Replaces the keyring (a reload's key rotation: add a key everywhere, make it primary, remove the old one),
    /// or turns encryption off with nil. Packets and streams from now on use the new ring.
    public func setKeyring(_ keyring: Keyring?) async {
        try? await eventLoop.submit {
            self.packetFrame.keyring = keyring
            self.streamFrame.keyring = keyring
        }.get()
    }

    public func updateMeta(_ meta: [UInt8]) async {
        try? await eventLoop.submit { self.perform(self.machine.updateMeta(meta, now: .now())) }.get()
    }

    /// memberlist `Leave`: announces the departure and waits up to `timeout` for it to spread.
    public func leave(timeout: TimeAmount) async {
        let deadline = NIODeadline.now() + timeout
        try? await eventLoop.submit { self.perform(self.machine.leave(now: .now())) }.get()
        while NIODeadline.now() < deadline {
            let spread = (try? await eventLoop.submit { self.machine.leaveSpread }.get()) ?? true
            if spread { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Closes both sockets; the others will find this member failed unless it left first.
    public func shutdown() async {
        let channels: [any Channel] = (try? await eventLoop.submit {
            self.closed = true
            self.timer?.cancel()
            return [self.udp, self.tcp].compactMap { $0 }
        }.get()) ?? []
        for channel in channels { try? await channel.close() }
        try? await eventLoop.submit {
            self.sender?.close()
            self.sender = nil
        }.get()
    }

    // MARK: The machine

    private func schedule() {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return }
        timer?.cancel()
        let deadline = machine.nextDeadline
        timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
            self.perform(self.machine.tick(now: .now()))
        }
    }

    private func perform(_ actions: [SWIMStateMachine.Action]) {
        eventLoop.preconditionInEventLoop()
        for action in actions {
            switch action {
            case .send(let messages, let to):
                sendPacket(messages, to: to)
            case .probeOverStream(let ping, let to, let deadline):
                probeOverStream(ping, to: to, deadline: deadline)
            case .pushPull(let with, let join):
                pushPull(with: with, join: join).whenFailure { [observe] error in
                    observe(.log(level: .warning, "gossip: push-pull with \(with) failed: \(error)"))
                }
            case .changed(let entry):
                observe(.changed(entry))
            case .removed(let entry):
                observe(.removed(entry))
            case .conflict(let existing, let claimed):
                observe(.conflict(name: existing.name, existing: existing.address, claimed: claimed.address))
                observe(.log(level: .error, "gossip: conflicting address for \(existing.name): known at \(existing.address), claimed from \(claimed.address); refused"))
            case .refuted(let accused, let incarnation):
                observe(.log(level: .warning, "gossip: refuting an accusation at incarnation \(accused) with \(incarnation)"))
            case .probed(let node, let acked, let duration):
                observe(.probe(node: node, acked: acked, seconds: Double(duration.nanoseconds) / 1e9))
            case .suspected(let node):
                observe(.suspected(node: node))
            }
        }
        if machine.healthScore != lastHealth {
            lastHealth = machine.healthScore
            observe(.healthScore(lastHealth))
        }
        schedule()
    }

    // MARK: Packets

    func sendPacket(_ messages: [SWIMMessage], to target: NodeAddress) {
        guard let sender, let remote = try? SocketAddress(ipAddress: target.host, port: target.port) else { return }
        let parts = messages.map { $0.wire.encoded() }
        let packets = parts.count == 1 ? parts : Compound.packets(parts)
        let checksum = (machine.member(at: target)?.versions?.protocolMax ?? 0) >= 5
        for message in messages { observe(.message(type: message.kind, direction: .sent)) }
        for packet in packets {
            let framed = packetFrame.seal(packet, compress: compress, checksum: checksum)
            if let code = sender.send(framed, to: remote) {
                sendFailed(code, to: target)
            } else {
                observe(.bytes(framed.count, direction: .sent))
            }
        }
    }

    /// One datagram lost to a failed `sendto`: counted as a drop (`send`), logged at most once per
    /// ``sendLogInterval`` with the count of those not logged, as memberlist logs each failed `WriteTo` and goes on.
    private func sendFailed(_ code: CInt, to target: NodeAddress) {
        let description = UDPSocket.describe(code)
        observe(.dropped(.send, detail: "to \(target): \(description)"))
        let now = NIODeadline.now()
        if let last = lastSendLog, now - last < Self.sendLogInterval {
            unloggedSendFailures += 1
            return
        }
        let more = unloggedSendFailures == 0 ? "" : " (\(unloggedSendFailures) more failed sends since the last report)"
        observe(.log(level: .warning, "gossip: UDP send to \(target) failed: \(description); the datagram is dropped\(more)"))
        unloggedSendFailures = 0
        lastSendLog = now
    }

    /// The channel reading the UDP socket, to tell that a send error did not replace it.
    var udpChannel: (any Channel)? {
        eventLoop.preconditionInEventLoop()
        return udp
    }

    fileprivate func receivePacket(_ bytes: [UInt8], from remote: SocketAddress) {
        eventLoop.preconditionInEventLoop()
        guard !closed, let host = remote.ipAddress, let port = remote.port else { return }
        observe(.bytes(bytes.count, direction: .received))
        let plain: [UInt8]
        do {
            plain = try packetFrame.open(bytes)
        } catch {
            switch error {
            case .label: observe(.dropped(.label, detail: error.description))
            case .decrypt: observe(.dropped(.decrypt, detail: error.description))
            case .checksum: observe(.dropped(.decode, detail: error.description))
            }
            return
        }
        let contents = PacketContents(plain)
        for failure in contents.failures { observe(.dropped(.decode, detail: failure.description)) }
        let from = NodeAddress(host: host, port: port)
        var actions: [SWIMStateMachine.Action] = []
        for message in contents.messages {
            if case .user(let bytes) = message {
                observe(.message(type: "user", direction: .received))
                for (reply, about) in delegate?.receive(userMessage: bytes) ?? [] { machine.enqueueUser(reply, about: about) }
                continue
            }
            guard let swim = SWIMMessage(message) else { continue }
            observe(.message(type: swim.kind, direction: .received))
            actions += machine.receive(swim, from: from, now: .now())
        }
        perform(actions)
    }

    // MARK: Streams

    /// Opens a stream to `target`, writes `request` and reads one message back.
    private func exchange(_ request: Message, with target: NodeAddress, timeout: TimeAmount) -> EventLoopFuture<Message> {
        let promise = eventLoop.makePromise(of: Message.self)
        let frame = streamFrame
        let observe = observe
        let bytes = StreamFrame.labelHeader(frame.label) + frame.encode(request)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GossipStreamHandler(frame: frame, role: .dialed(promise), observe: observe))
                }
            }
        bootstrap.connect(host: target.host, port: target.port).whenComplete { result in
            switch result {
            case .failure(let error):
                promise.fail(error)
            case .success(let channel):
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
                let timeoutTask = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(GossipTransportError.timeout) }
                promise.futureResult.whenComplete { _ in
                    timeoutTask.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        observe(.bytes(bytes.count, direction: .sent))
        return promise.futureResult
    }

    private func pushPull(with target: NodeAddress, join: Bool) -> EventLoopFuture<Void> {
        let request = Message.pushPull(PushPull(join: join, states: machine.localState.map(\.wire), userState: delegate?.localState(join: join) ?? []))
        observe(.message(type: "push_pull", direction: .sent))
        return exchange(request, with: target, timeout: machine.configuration.tcpTimeout).flatMapThrowing { [self] reply in
            guard case .pushPull(let remote) = reply else {
                if case .error(let error) = reply { throw GossipTransportError.remote(error.error) }
                throw GossipTransportError.unexpected(reply.type)
            }
            observe(.message(type: "push_pull", direction: .received))
            try merge(remote)
        }
    }

    /// memberlist `mergeRemoteState`: a join's state is refused when its protocol versions are incompatible.
    private func merge(_ remote: PushPull) throws {
        let states = remote.states.compactMap(RemoteNodeState.init)
        if remote.join, let reason = machine.incompatibility(with: states) {
            throw GossipTransportError.incompatible(reason)
        }
        perform(machine.merge(states, now: .now()))
        if !remote.userState.isEmpty { delegate?.mergeRemoteState(remote.userState, join: remote.join) }
    }

    private func probeOverStream(_ ping: SWIMMessage, to target: NodeAddress, deadline: NIODeadline) {
        guard case .ping(let seq, _, _, _) = ping else { return }
        let timeout = max(deadline - .now(), .milliseconds(1))
        exchange(ping.wire, with: target, timeout: timeout).whenComplete { [self] result in
            var contacted = false
            if case .success(.ackResponse(let ack)) = result, ack.seqNo == seq { contacted = true }
            machine.streamProbeCompleted(seq: seq, contacted: contacted, now: .now())
        }
    }

    /// A stream a peer opened has delivered its message; answer it on `channel`.
    fileprivate func accepted(_ message: Message, on channel: any Channel) {
        eventLoop.preconditionInEventLoop()
        switch message {
        case .ping(let ping):
            observe(.message(type: "ping", direction: .received))
            if let swim = SWIMMessage(.ping(ping)), let ack = machine.answer(streamPing: swim) {
                reply(ack.wire, on: channel)
            } else {
                channel.close(promise: nil)
            }
        case .pushPull(let remote):
            observe(.message(type: "push_pull", direction: .received))
            let answer = Message.pushPull(PushPull(join: remote.join, states: machine.localState.map(\.wire), userState: delegate?.localState(join: remote.join) ?? []))
            reply(answer, on: channel)
            do {
                try merge(remote)
            } catch {
                observe(.log(level: .error, "gossip: refused a join: \(error)"))
            }
        case .user(let bytes):
            observe(.message(type: "user", direction: .received))
            for (reply, about) in delegate?.receive(userMessage: bytes) ?? [] { machine.enqueueUser(reply, about: about) }
            channel.close(promise: nil)
        default:
            channel.close(promise: nil)
        }
    }

    fileprivate var acceptingFrame: StreamFrame { streamFrame }

    fileprivate func streamFailed(_ failure: any Error) {
        guard let error = failure as? WireError else {
            observe(.dropped(.decode, detail: "\(failure)"))
            return
        }
        let reason: GossipEvent.DropReason =
            switch error {
            case .decryptionFailed: .decrypt
            case .tooLarge: .tooLarge
            case .malformed(let text) where text.contains("label"): .label
            default: .decode
            }
        observe(.dropped(reason, detail: error.description))
    }

    private func reply(_ message: Message, on channel: any Channel) {
        let bytes = streamFrame.encode(message)
        observe(.bytes(bytes.count, direction: .sent))
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

public enum GossipTransportError: Error, CustomStringConvertible {
    case timeout
    case remote(String)
    case unexpected(MessageType)
    case incompatible(String)

    public var description: String {
        switch self {
        case .timeout: "timed out"
        case .remote(let text): "the peer answered with an error: \(text)"
        case .unexpected(let type): "unexpected \(type) message in answer"
        case .incompatible(let reason): reason
        }
    }
}

/// Lets the channel handlers, created before the node exists, reach it once it does. Set once, on the event loop,
/// before either channel can deliver anything to the node (reads before that are dropped).
final class NodeHolder: @unchecked Sendable {
    var node: GossipNode?
}

final class GossipDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let holder: NodeHolder

    init(holder: NodeHolder) {
        self.holder = holder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        holder.node?.receivePacket(Array(envelope.data.readableBytesView), from: envelope.remoteAddress)
    }
}

/// Accumulates a stream's bytes until one message is complete, then hands it on: to the node for a stream a peer
/// opened, to the waiting promise for one this member dialed.
final class GossipStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum Role {
        case accepted
        case dialed(EventLoopPromise<Message>)
    }

    private let holder: NodeHolder?
    private var frame: StreamFrame?
    private let role: Role
    /// Where a dialed stream reports the bytes it reads (an accepted one reports through its node).
    private let observe: (@Sendable (GossipEvent) -> Void)?
    private var received: [UInt8] = []
    /// Whether the label header has been read (the accepting side reads it once, first).
    private var labelRead: Bool
    private var done = false

    init(holder: NodeHolder, role: Role) {
        self.holder = holder
        self.role = role
        self.observe = nil
        self.labelRead = false
    }

    init(frame: StreamFrame, role: Role, observe: @escaping @Sendable (GossipEvent) -> Void) {
        self.holder = nil
        self.frame = frame
        self.role = role
        self.observe = observe
        self.labelRead = true
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .accepted = role, let timeout = holder?.node?.tcpTimeout {
            let channel = context.channel
            context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let bytes = unwrapInboundIn(data).readableBytesView
        received.append(contentsOf: bytes)
        let node = holder?.node
        (observe ?? node?.observe)?(.bytes(bytes.count, direction: .received))
        guard let frame = frame ?? node?.acceptingFrame else {
            context.close(promise: nil)
            return
        }
        do {
            if !labelRead {
                // memberlist `RemoveLabelHeaderFromStream`: hasLabel, a length byte, the label; none means "".
                if received.first == MessageType.hasLabel.rawValue {
                    guard received.count >= 2, received.count >= 2 + Int(received[1]) else { return }
                }
                guard !received.isEmpty else { return }
                let (label, rest) = try PacketFrame.removeLabel(received)
                guard label == frame.label else { throw WireError.malformed("unacceptable stream label \"\(label)\"") }
                received = rest
                labelRead = true
            }
            guard let (message, _) = try frame.decode(received) else { return }
            done = true
            switch role {
            case .accepted: node?.accepted(message, on: context.channel)
            case .dialed(let promise): promise.succeed(message)
            }
        } catch {
            done = true
            switch role {
            case .accepted: node?.streamFailed(error)
            case .dialed(let promise): promise.fail(error)
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .dialed(let promise) = role, !done {
            done = true
            promise.fail(GossipTransportError.remote("stream closed before an answer"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension GossipNode {
    fileprivate var tcpTimeout: TimeAmount { machine.configuration.tcpTimeout }
}
