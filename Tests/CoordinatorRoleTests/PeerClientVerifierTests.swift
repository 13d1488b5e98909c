@testable import CoordinatorRole
import Foundation
import NIOSSL
import TestSupport
import Testing

/// The verdict on a peer caller's client certificate, with certificates made by openssl for the test: as strict
/// as the TLS handshake's check against `peer.tls.ca` was (another CA's certificate, a self-signed one, one
/// expired or not yet valid, one not meant for a TLS client are refused, each with its reason).
@Suite struct PeerClientVerifierTests {
    let group: TestCertificates
    let stranger: TestCertificates
    let verifier: PeerClientVerifier

    init() throws {
        group = try TestCertificates.make()
        stranger = try TestCertificates.make()
        verifier = try PeerClientVerifier(roots: NIOSSLCertificate.fromPEMFile(group.caPath))
    }

    private func chain(_ path: String) throws -> [NIOSSLCertificate] {
        try NIOSSLCertificate.fromPEMFile(path)
    }

    @Test func aCertificateSignedByTheCAIsVerified() async throws {
        defer { group.remove(); stranger.remove() }
        try group.issue(name: "member", commonName: "member")
        #expect(await verifier.verify(try chain(group.path("member.pem")), at: Date()) == .verified)
        // The CA is named in the certificate, not its host: a certificate for other names is a member's all the same.
        try group.issue(name: "elsewhere", commonName: "db.example", notBefore: "20200101000000Z", notAfter: "20991231000000Z",
                        extensions: ["keyUsage=critical,digitalSignature", "extendedKeyUsage=critical,clientAuth,serverAuth"])
        #expect(await verifier.verify(try chain(group.path("elsewhere.pem")), at: Date()) == .verified)
    }

    @Test func noCertificateIsMissing() async throws {
        defer { group.remove(); stranger.remove() }
        let verdict = await verifier.verify([], at: Date())
        #expect(verdict == .missing)
        #expect(verdict.refusal == "client certificate missing")
    }

    @Test func anotherCAsCertificateAndASelfSignedOneAreNotSignedByTheCA() async throws {
        defer { group.remove(); stranger.remove() }
        let foreign = await verifier.verify(try chain(stranger.certificatePath), at: Date())
        #expect(foreign == .notSignedByCA)
        #expect(foreign.refusal == "client certificate not signed by peer.tls.ca")
        try group.selfSigned(name: "self", commonName: "member")
        #expect(await verifier.verify(try chain(group.path("self.pem")), at: Date()) == .notSignedByCA)
        // The other CA's own certificate, presented as a client certificate.
        #expect(await verifier.verify(try chain(stranger.caPath), at: Date()) == .notSignedByCA)
        // Another CA's certificate presented with the group's CA after it as an "intermediate": still no path.
        let padded = try chain(stranger.certificatePath) + chain(group.caPath)
        #expect(await verifier.verify(padded, at: Date()) == .notSignedByCA)
    }

    @Test func certificatesOutsideTheirValidityAreRefused() async throws {
        defer { group.remove(); stranger.remove() }
        try group.issue(name: "old", commonName: "old", notBefore: "20200101000000Z", notAfter: "20200102000000Z")
        let expired = await verifier.verify(try chain(group.path("old.pem")), at: Date())
        #expect(expired == .expired)
        #expect(expired.refusal == "client certificate expired")
        try group.issue(name: "early", commonName: "early", notBefore: "20990101000000Z", notAfter: "20990102000000Z")
        #expect(await verifier.verify(try chain(group.path("early.pem")), at: Date()) == .notYetValid)
        // The time is the caller's: the member's two-day certificate, three days on.
        try group.issue(name: "member", commonName: "member")
        #expect(await verifier.verify(try chain(group.path("member.pem")), at: Date().addingTimeInterval(3 * 86_400)) == .expired)
    }

    @Test func aCertificateNotMeantForAClientIsRefused() async throws {
        defer { group.remove(); stranger.remove() }
        try group.issue(name: "server-only", commonName: "server", notBefore: "20200101000000Z", notAfter: "20991231000000Z",
                        extensions: ["extendedKeyUsage=serverAuth"])
        let serverOnly = await verifier.verify(try chain(group.path("server-only.pem")), at: Date())
        guard case .notForClientAuthentication = serverOnly else { Issue.record("\(serverOnly)"); return }
        #expect(serverOnly.refusal?.contains("clientAuth") == true, "\(serverOnly.refusal ?? "")")
        try group.issue(name: "encipher", commonName: "encipher", notBefore: "20200101000000Z", notAfter: "20991231000000Z",
                        extensions: ["keyUsage=critical,keyEncipherment"])
        let encipherOnly = await verifier.verify(try chain(group.path("encipher.pem")), at: Date())
        guard case .notForClientAuthentication = encipherOnly else { Issue.record("\(encipherOnly)"); return }
    }

    @Test func aChainThroughAnIntermediateIsVerifiedWhenTheClientSendsIt() async throws {
        defer { group.remove(); stranger.remove() }
        try group.issueIntermediate(name: "sub")
        try group.issue(name: "leaf", commonName: "member", issuer: "sub")
        #expect(await verifier.verify(try chain(group.path("leaf-chain.pem")), at: Date()) == .verified)
        // Without the intermediate there is no path to the CA.
        #expect(await verifier.verify(try chain(group.path("leaf.pem")), at: Date()) == .notSignedByCA)
        // An intermediate whose key may not sign certificates.
        try group.issueIntermediate(name: "signing-only", keyUsage: "critical,digitalSignature")
        try group.issue(name: "under-signing-only", commonName: "member", issuer: "signing-only")
        let misused = await verifier.verify(try chain(group.path("under-signing-only-chain.pem")), at: Date())
        #expect(misused == .notForClientAuthentication("an issuer's key usage does not allow keyCertSign"), "\(misused)")
    }
}
