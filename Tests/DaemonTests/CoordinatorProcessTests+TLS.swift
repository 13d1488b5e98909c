import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import TestSupport
import Testing

extension CoordinatorProcessTests {
    /// A caller of a member's peer listener, with or without a client certificate; it trusts `ca`.
    struct PeerCaller {
        let client: HTTPClient

        init(ca: String, certificate: String? = nil, key: String? = nil) throws {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            tls.certificateVerification = .noHostnameVerification
            if let certificate, let key {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }

        /// A peer Put; the status, or the error that ended the call (a refused handshake).
        func put(_ port: Int, key: String, value: String, token: String?) async -> Result<Int, any Error> {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/peer/kv/\(key)")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: value))
            // A new connection each time, so that one accepted before a reload is not reused after it.
            request.headers.add(name: "Connection", value: "close")
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 20)
                return .success(Int(response.status.code))
            } catch {
                return .failure(error)
            }
        }

        func shutdown() async throws { try await client.shutdown() }
    }

    /// Three members whose peer traffic is mutual TLS with certificates made for the test, and the token as well:
    /// they elect a leader and a Put through a follower reaches it; a caller without a client certificate, or with
    /// one from another CA, fails the handshake (counted and logged), and one with a good certificate but no token
    /// gets 401. A reload with the leader's CA file replaced takes the new CA for new connections.
    @Test func mutualTLSBetweenMembers() async throws {
        let certificates = try TestCertificates.make()
        let stranger = try TestCertificates.make()
        defer { certificates.remove(); stranger.remove() }
        let names = ["t0", "t1", "t2"]
        for name in names {
            try certificates.issue(name: name, commonName: name)
            try FileManager.default.copyItem(atPath: certificates.caPath, toPath: certificates.path("ca-\(name).pem"))
        }
        var members: [Member] = []
        for name in names {
            members.append(try await start(name, peer: [
                "token: \(Self.token)",
                "tls: {cert: \(certificates.path("\(name).pem")), key: \(certificates.path("\(name).key")), ca: \(certificates.path("ca-\(name).pem"))}",
            ]))
        }
        let leader = try await leader(of: members)
        let follower = members.first { $0 !== leader }!

        let written = try await put(follower, "over-tls", "through a follower", idempotencyKey: "tls-1")
        #expect(written.status == 201, "\(written.body)")
        #expect(written.body.contains("\"leader\": \"\(leader.name)\""), "\(written.body)")
        for member in members { #expect(try await values(member, "over-tls") == ["through a follower"]) }
        let status = try await AdminClient.get(leader.admin, "/v1/status").body
        #expect(status.contains("\"peer_authentication\": \"mutual TLS and token\""), "\(status)")

        let anonymous = try PeerCaller(ca: certificates.caPath)
        let foreign = try PeerCaller(ca: certificates.caPath, certificate: stranger.certificatePath, key: stranger.keyPath)
        let member = try PeerCaller(ca: certificates.caPath, certificate: certificates.path("t0.pem"), key: certificates.path("t0.key"))
        let strangerAfterReload: Result<Int, any Error>
        let memberAfterReload: Result<Int, any Error>
        do {
            let noCertificate = await anonymous.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect(throws: (any Error).self, "no client certificate: the handshake fails") { try noCertificate.get() }
            let otherCA = await foreign.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect(throws: (any Error).self, "a certificate from another CA: the handshake fails") { try otherCA.get() }
            let noToken = await member.put(leader.peer, key: "k", value: "v", token: nil)
            #expect((try? noToken.get()) == 401, "\(noToken)")
            // Past both checks: written, or 503 should the leadership have moved meanwhile (a loaded machine).
            let both = await member.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect([201, 503].contains(try? both.get()), "\(both)")

            try await eventually {
                let metrics = try await AdminClient.get(leader.admin, "/metrics").body
                return metrics.contains(#"outrider_coordinator_peer_requests_total{kind="tls",result="unauthorized"} 2"#)
                    && metrics.contains(#"outrider_coordinator_peer_requests_total{kind="put",result="unauthorized"} 1"#)
            }
            #expect(leader.daemon.stderr.contains { $0.contains("peer connection refused: TLS handshake failed") })

            // The leader's CA file replaced by the stranger's CA, then a reload: callers signed by the stranger's CA
            // are members now, and the group's own certificates are not.
            let leaderCA = certificates.path("ca-\(leader.name).pem")
            try FileManager.default.removeItem(atPath: leaderCA)
            try FileManager.default.copyItem(atPath: stranger.caPath, toPath: leaderCA)
            leader.daemon.signal(SIGHUP)
            _ = try await leader.daemon.waitForLine(containing: "peer TLS certificate reloaded")
            strangerAfterReload = await foreign.put(leader.peer, key: "k", value: "w", token: Self.token)
            memberAfterReload = await member.put(leader.peer, key: "k", value: "w", token: Self.token)
        } catch {
            try? await anonymous.shutdown(); try? await foreign.shutdown(); try? await member.shutdown()
            throw error
        }
        try await anonymous.shutdown(); try await foreign.shutdown(); try await member.shutdown()
        #expect([201, 503].contains(try? strangerAfterReload.get()), "\(strangerAfterReload)")
        #expect(throws: (any Error).self, "the old CA is no longer trusted") { try memberAfterReload.get() }

        for member in members { member.daemon.signal(SIGTERM) }
        for member in members { #expect(try await member.daemon.waitForExit() == 0) }
    }
}
