import CoreMetrics
import Logging
import Membership
import NIOCore
import NIOPosix
import Proxy
import Testing
import TestSupport

@testable import Plugins
@testable import ProxyRole

/// `discover: true` in a running proxy role: listeners open and close as members announce applications, each routes
/// its applications' domains, and the configured listener and sites carry on untouched.
@Suite struct DiscoverRoleTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func member(_ name: String, _ applications: [Application], status: Member.Status = .alive) -> Member {
        Member(name: name, host: "127.0.0.1", port: 7946, status: status, tags: [ApplicationTag.key: ApplicationTag.encode(applications)])
    }

    /// Polls until `body` is true, or fails after a generous bound.
    func eventually(_ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () async -> Bool) async throws {
        for _ in 0..<200 {
            if await body() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("never: \(what)", sourceLocation: sourceLocation)
    }

    /// The answers of `count` requests for `host` on a new connection to `port`: a backend's name, or the status;
    /// nil when the port refuses the connection.
    func answers(port: Int, host: String, count: Int = 8) async -> Set<String>? {
        guard let channel = try? await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).flatMapThrowing({
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: $0)
        }).get() else { return nil }
        let answers = try? await channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var buffered = ""
            var seen: Set<String> = []
            for _ in 0..<count {
                seen.insert(try await Self.exchange(host: host, inbound: &iterator, outbound: outbound, buffered: &buffered))
            }
            return seen
        }
        return answers ?? ["no answer"]
    }

    /// Sends one `GET /` for `host` and reads its response: the body of a 200, else the status code.
    static func exchange(
        host: String,
        inbound: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        buffered: inout String
    ) async throws -> String {
        try await outbound.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n"))
        while true {
            if let range = buffered.range(of: "\r\n\r\n"),
               let length = buffered[..<range.lowerBound].split(separator: "\r\n")
                   .first(where: { $0.lowercased().hasPrefix("content-length:") })
                   .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
               buffered[range.upperBound...].utf8.count >= length {
                let status = buffered.prefix(12)
                let body = String(buffered[range.upperBound...].prefix(length))
                buffered = String(buffered[range.upperBound...].dropFirst(length))
                return status.hasSuffix("200") ? body : String(status.suffix(3))
            }
            guard let chunk = try await inbound.next() else { throw ChannelError.eof }
            buffered += String(buffer: chunk)
        }
    }

    /// A started proxy role read from YAML: a listener on an ephemeral port, a `fallback` site, `discover: true` on
    /// `ports`, following `membership` as the gossip role's offer.
    func discoveringRole(ports: [Int], fallback: NamedBackend, membership: LiveMembership) async throws -> (ProxyRole, ProxyRoleSettings) {
        var capabilities = Capabilities()
        capabilities.offers["membership"] = .init(capability: AnyCapability(.membership), provider: "gossip", generation: 1, value: membership as any MembershipView)
        let catalog = RoleCatalog([AnyRolePlugin(ProxyRolePlugin()), AnyRolePlugin(MembershipOffering())])
        let configuration = try OutriderConfiguration.parse("""
            roles:
              gossip: {}
              proxy:
                listen: ["127.0.0.1:0"]
                health: {interval: 20ms, timeout: 500ms}
                sites: [{name: fallback, pools: ["http://127.0.0.1:\(fallback.port)"]}]
                discover: true
                discover_ports: [\(ports.map(String.init).joined(separator: ", "))]
            """, path: "p.yaml", catalog: catalog, environment: [:])
        let settings = try #require(configuration.roles.first { $0.name == "proxy" }?.settings.value as? ProxyRoleSettings)
        let context = DiscoveredPoolTests.context(group: group, capabilities: capabilities)
        let role = try #require(try await ProxyRolePlugin().makeRole(settings: settings, context: context) as? ProxyRole)
        try await role.start()
        return (role, settings)
    }

    @Test func listenersFollowTheAnnouncedApplications() async throws {
        let fallback = try await NamedBackend(name: "fallback", group: group)
        let web1 = try await NamedBackend(name: "web1", group: group)
        let web2 = try await NamedBackend(name: "web2", group: group)
        let api = try await NamedBackend(name: "api", group: group)
        let (first, second, notAllowed) = (try FreePort.tcp(), try FreePort.tcp(), try FreePort.tcp())
        let membership = LiveMembership(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))
        let (role, settings) = try await discoveringRole(ports: [first, second], fallback: fallback, membership: membership)
        let main = try #require(role.server.localAddresses.first?.port)
        // On a loaded machine the first health check may not have passed yet.
        try await eventually("the fallback site answers") { await answers(port: main, host: "anything.test") == ["fallback"] }
        #expect(await answers(port: first, host: "web.test") == nil, "no application announces the port yet")

        // A connection on the configured listener stays open through every change below.
        let kept = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: main) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        try await kept.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var buffered = ""
            #expect(try await Self.exchange(host: "x.test", inbound: &iterator, outbound: outbound, buffered: &buffered) == "fallback")

            let web = { (backend: NamedBackend) in Application(name: "web", listenPort: first, applicationPort: backend.port, transport: .http, domains: ["web.test", "*.web.test"]) }
            membership.apply(.joined(member("b1", [web(web1)])))
            try await eventually("the first port serves web") { await answers(port: first, host: "web.test") == ["web1"] }
            #expect(await answers(port: first, host: "www.web.test") == ["web1"])
            #expect(await answers(port: first, host: "other.test") == ["404"], "an unknown Host without discover_default_site")
            #expect(await answers(port: main, host: "web.test") == ["fallback"], "the configured listener keeps its own routing")

            // A second member of web (backends only), api on the second port, and two applications discovery leaves out.
            membership.apply(.joined(member("b2", [
                web(web2),
                Application(name: "api", listenPort: second, applicationPort: api.port, transport: .http, domains: ["api.test"]),
                Application(name: "admin", listenPort: notAllowed, applicationPort: api.port, transport: .http, domains: ["admin.test"]),
                Application(name: "db", listenPort: 5432, applicationPort: 5432, transport: .tcp, domains: ["db.test"]),
            ])))
            try await eventually("the second port serves api") { await answers(port: second, host: "api.test") == ["api"] }
            try await eventually("web has both members") { await answers(port: first, host: "web.test", count: 16) == ["web1", "web2"] }
            #expect(await answers(port: first, host: "api.test") == ["404"], "api is routed on its own port only")
            #expect(await answers(port: notAllowed, host: "admin.test") == nil)

            let status = await role.status()
            let discovery = try #require(Self.field("discovery", of: status))
            let listeners = try #require(Self.field("listeners", of: discovery).flatMap { if case .array(let items) = $0 { items } else { nil } })
            #expect(listeners.compactMap { Self.field("port", of: $0) } == [.number(Double(min(first, second))), .number(Double(max(first, second)))])
            #expect(listeners.allSatisfy { Self.field("addresses", of: $0).map { if case .array(let items) = $0 { items.count == 1 } else { false } } ?? false })
            #expect(Self.field("ignored", of: discovery) == .array([
                ["application": "admin", "reason": .string("listen_port \(notAllowed) is not in discover_ports")],
                ["application": "db", "reason": "a tcp application: the proxy routes HTTP by Host, not TCP ports"],
            ]))

            // A reload keeps the discovered ports, routes and backends; one that narrows discover_ports closes a port.
            var reloaded = settings
            reloaded.proxy.retry.attempts = 1
            _ = try await role.reconfigure(to: reloaded)
            #expect(await answers(port: second, host: "api.test") == ["api"])
            try await eventually("web keeps both members") { await answers(port: first, host: "web.test", count: 16) == ["web1", "web2"] }
            reloaded.discovery?.ports = [first]
            _ = try await role.reconfigure(to: reloaded)
            let closed = await answers(port: second, host: "api.test")
            #expect(closed == nil, "answered \(closed ?? []); the proxy listens on \(role.server.boundListeners.map { "\($0.address)" })")
            #expect(await answers(port: first, host: "web.test") != nil)
            reloaded.discovery?.ports = [first, second]
            _ = try await role.reconfigure(to: reloaded)
            // The port opens again with api's site made anew: its backend takes traffic after its first check.
            try await eventually("the second port serves api again") { await answers(port: second, host: "api.test") == ["api"] }

            // b2 fails: api's port closes, web carries on with b1 alone.
            membership.apply(.updated(member("b2", [], status: .dead)))
            try await eventually("the second port closes") { await answers(port: second, host: "api.test") == nil }
            try await eventually("web is left with b1") { await answers(port: first, host: "web.test", count: 16) == ["web1"] }

            #expect(try await Self.exchange(host: "x.test", inbound: &iterator, outbound: outbound, buffered: &buffered) == "fallback")
        }

        // The last application goes: its port closes too.
        membership.apply(.updated(member("b1", [], status: .left)))
        try await eventually("the first port closes") { await answers(port: first, host: "web.test") == nil }
        #expect(await answers(port: main, host: "anything.test") == ["fallback"])

        await role.shutdown(grace: .seconds(1))
        try await role.run()
        for backend in [fallback, web1, web2, api] { try await backend.stop() }
    }

    /// A reload the proxy refuses leaves discovery on the settings in force, not on the refused ones: the next
    /// membership change is planned with the ports the proxy still has.
    @Test func aRefusedReloadLeavesDiscoveryOnTheSettingsInForce() async throws {
        let fallback = try await NamedBackend(name: "fallback", group: group)
        let api = try await NamedBackend(name: "api", group: group)
        let (first, second) = (try FreePort.tcp(), try FreePort.tcp())
        let taken = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let takenPort = try #require(taken.localAddress?.port)
        let membership = LiveMembership(localMember: Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive))
        let (role, settings) = try await discoveringRole(ports: [first, second], fallback: fallback, membership: membership)
        let application = { (name: String, port: Int) in Application(name: name, listenPort: port, applicationPort: api.port, transport: .http, domains: ["\(name).test"]) }
        membership.apply(.joined(member("b1", [application("one", first)])))
        try await eventually("the first port serves") { await answers(port: first, host: "one.test") == ["api"] }

        // Narrower ports and a listener on a port in use: the proxy refuses the whole reload.
        var refused = settings
        refused.discovery?.ports = [first]
        refused.proxy.listeners.append(.init(host: "127.0.0.1", port: takenPort))
        await #expect(throws: (any Error).self) { try await role.reconfigure(to: refused) }

        // An application announced on the second port is opened: it is among the ports in force.
        membership.apply(.joined(member("b2", [application("two", second)])))
        try await eventually("the second port serves") { await answers(port: second, host: "two.test") == ["api"] }
        #expect(await answers(port: first, host: "one.test") == ["api"])

        await role.shutdown(grace: .seconds(1))
        try await role.run()
        try await taken.close()
        for backend in [fallback, api] { try await backend.stop() }
    }

    static func field(_ name: String, of value: JSONValue) -> JSONValue? {
        guard case .object(let fields) = value else { return nil }
        return fields.first { $0.0 == name }?.1
    }
}
