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

        /// The status, and the reason of an error answer (`{"error": …}`).
        struct Answer: Equatable {
            var status: Int
            var error: String?
        }

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

        /// A peer Put; the status and body, or the error that ended the call (a refused handshake). `close`: a new
        /// connection each time, so that one accepted before a reload is not reused after it.
        func put(_ port: Int, key: String, value: String, token: String?, close: Bool = true) async -> Result<Answer, any Error> {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/peer/kv/\(key)")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: value))
            if close { request.headers.add(name: "Connection", value: "close") }
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1 << 20)
                let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                return .success(Answer(status: Int(response.status.code), error: object?["error"] as? String))
            } catch {
                return .failure(error)
            }
        }

        func shutdown() async throws { try await client.shutdown() }
    }

    /// Three members whose peer traffic is mutual TLS with certificates made for the test, and the token as well:
    /// they elect a leader and a Put through a follower reaches it. A caller without a client certificate, with one
    /// from another CA, a self-signed one or an expired one gets 401 with the reason (counted under the route's
    /// kind, logged once per connection), and one with a good certificate but no token gets 401 too. A reload
    /// with the leader's CA file replaced takes the new CA for new connections.
    @Test func mutualTLSBetweenMembers() async throws {
        let certificates = try TestCertificates.make()
        let stranger = try TestCertificates.make()
        defer { certificates.remove(); stranger.remove() }
        let names = ["t0", "t1", "t2"]
        for name in names {
            try certificates.issue(name: name, commonName: name)
            try FileManager.default.copyItem(atPath: certificates.caPath, toPath: certificates.path("ca-\(name).pem"))
        }
        try certificates.issue(name: "expired", commonName: "t0", notBefore: "20200101000000Z", notAfter: "20200102000000Z")
        try certificates.selfSigned(name: "self", commonName: "t0")
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
        let expired = try PeerCaller(ca: certificates.caPath, certificate: certificates.path("expired.pem"), key: certificates.path("expired.key"))
        let selfSigned = try PeerCaller(ca: certificates.caPath, certificate: certificates.path("self.pem"), key: certificates.path("self.key"))
        let member = try PeerCaller(ca: certificates.caPath, certificate: certificates.path("t0.pem"), key: certificates.path("t0.key"))
        let callers = [anonymous, foreign, expired, selfSigned, member]
        let strangerAfterReload: Result<PeerCaller.Answer, any Error>
        let memberAfterReload: Result<PeerCaller.Answer, any Error>
        do {
            func refused(_ reason: String) -> PeerCaller.Answer { PeerCaller.Answer(status: 401, error: reason) }
            let noCertificate = await anonymous.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect((try? noCertificate.get()) == refused("client certificate missing"), "\(noCertificate)")
            let otherCA = await foreign.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect((try? otherCA.get()) == refused("client certificate not signed by peer.tls.ca"), "\(otherCA)")
            let ownKey = await selfSigned.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect((try? ownKey.get()) == refused("client certificate not signed by peer.tls.ca"), "\(ownKey)")
            let outOfDate = await expired.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect((try? outOfDate.get()) == refused("client certificate expired"), "\(outOfDate)")
            let noToken = await member.put(leader.peer, key: "k", value: "v", token: nil)
            #expect((try? noToken.get())?.status == 401, "\(noToken)")
            // Past both checks: written, or 503 should the leadership have moved meanwhile (a loaded machine).
            let both = await member.put(leader.peer, key: "k", value: "v", token: Self.token)
            #expect([201, 503].contains((try? both.get())?.status), "\(both)")

            try await eventually {
                let metrics = try await AdminClient.get(leader.admin, "/metrics").body
                return metrics.contains(#"outrider_coordinator_peer_requests_total{kind="put",result="unauthorized"} 5"#)
            }
            let metrics = try await AdminClient.get(leader.admin, "/metrics").body
            #expect(!metrics.contains(#"kind="tls",result="unauthorized""#), "no handshake failed")
            func logged(_ reason: String) -> Int { leader.daemon.stderr.filter { $0.contains("peer request refused: \(reason)") }.count }
            try await eventually { logged("client certificate missing") == 1 && logged("client certificate expired") == 1 }

            // Three more calls without a certificate on one kept-alive connection: each answered and counted,
            // the connection logged once.
            for _ in 0..<3 {
                let again = await anonymous.put(leader.peer, key: "k", value: "v", token: Self.token, close: false)
                #expect((try? again.get()) == refused("client certificate missing"), "\(again)")
            }
            try await eventually {
                let metrics = try await AdminClient.get(leader.admin, "/metrics").body
                return metrics.contains(#"outrider_coordinator_peer_requests_total{kind="put",result="unauthorized"} 8"#)
            }
            try await eventually { logged("client certificate missing") == 2 }

            // The leader's CA file replaced by the stranger's CA, then a reload: callers signed by the stranger's CA
            // are members now, and the group's own certificates are not.
            let leaderCA = certificates.path("ca-\(leader.name).pem")
            try FileManager.default.removeItem(atPath: leaderCA)
            try FileManager.default.copyItem(atPath: stranger.caPath, toPath: leaderCA)
            leader.daemon.signal(SIGHUP)
            _ = try await leader.daemon.waitForLine(containing: "peer TLS certificate reloaded")
            strangerAfterReload = await foreign.put(leader.peer, key: "k", value: "w", token: Self.token)
            memberAfterReload = await member.put(leader.peer, key: "k", value: "w", token: Self.token)
            #expect((try? memberAfterReload.get()) == refused("client certificate not signed by peer.tls.ca"), "the old CA is no longer trusted: \(memberAfterReload)")
            // A Put through the follower, whose certificate the leader now refuses: 503 with the leader's reason
            // (or 201, should the leadership have moved to the follower meanwhile on a loaded machine).
            let refusedPut = try await put(follower, "over-tls", "refused")
            #expect(
                refusedPut.status == 201 || (refusedPut.status == 503 && refusedPut.body.contains("refused this member: client certificate not signed by peer.tls.ca")),
                "\(refusedPut.status) \(refusedPut.body)")
        } catch {
            for caller in callers { try? await caller.shutdown() }
            throw error
        }
        for caller in callers { try await caller.shutdown() }
        #expect([201, 503].contains((try? strangerAfterReload.get())?.status), "\(strangerAfterReload)")

        for member in members { member.daemon.signal(SIGTERM) }
        for member in members { #expect(try await member.daemon.waitForExit() == 0) }
    }

    /// A caller that does not speak TLS to a member's TLS peer listener fails the handshake, which is counted
    /// and logged (it reaches no route).
    @Test func aPlainHTTPCallerFailsTheHandshake() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        try certificates.issue(name: "p0", commonName: "p0")
        let member = try await start("p0", peer: ["tls: {cert: \(certificates.path("p0.pem")), key: \(certificates.path("p0.key")), ca: \(certificates.caPath)}"])
        let plain = try? await HTTPCall.send("POST", member.peer, "/v1/peer/kv/k", body: "v", timeout: 5)
        #expect(plain?.status != 201, "\(String(describing: plain))")
        try await eventually {
            let metrics = try await AdminClient.get(member.admin, "/metrics").body
            return metrics.contains(#"outrider_coordinator_peer_requests_total{kind="tls",result="unauthorized"} 1"#)
        }
        #expect(member.daemon.stderr.contains { $0.contains("peer connection refused: TLS handshake failed") })
        member.daemon.signal(SIGTERM)
        #expect(try await member.daemon.waitForExit() == 0)
    }
}
