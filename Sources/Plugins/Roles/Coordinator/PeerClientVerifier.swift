import Foundation
import NIOSSL
import SwiftASN1
@_spi(FixedExpiryValidationTime) @_spi(DisableValidityCheck) import X509

/// Checks the certificate chain a caller of the peer listener presented against `peer.tls.ca` as strictly as
/// BoringSSL's own check in the handshake would (`SSL_VERIFY_PEER` with the "ssl_client" purpose): a path to one
/// of the CA certificates (RFC 5280 section 6: signatures, basic constraints, name constraints), every
/// certificate on it inside its validity period at `now`, and key usage fit for a TLS client
/// (``PeerClientUsagePolicy``). Host names are not checked: members are reached by address.
///
/// The handshake completes whatever the verdict and records it on the connection (``PeerHandshakeWatcher``); the
/// peer routes refuse a connection whose verdict is not ``Verdict/verified`` with 401 and the verdict's reason,
/// which a failed handshake could not tell the caller.
struct PeerClientVerifier: Sendable {
    /// What a connection's client certificate turned out to be.
    enum Verdict: Sendable, Equatable {
        case verified
        case missing
        case unreadable
        case notSignedByCA
        case expired
        case notYetValid
        /// A CA or intermediate certificate on the path is outside its validity period.
        case issuerOutsideValidity
        /// On a path to the CA but refused by ``PeerClientUsagePolicy`` (its reason).
        case notForClientAuthentication(String)

        /// The one-line reason a refused caller is answered with; nil for a verified one.
        var refusal: String? {
            switch self {
            case .verified: nil
            case .missing: "client certificate missing"
            case .unreadable: "client certificate unreadable"
            case .notSignedByCA: "client certificate not signed by peer.tls.ca"
            case .expired: "client certificate expired"
            case .notYetValid: "client certificate not yet valid"
            case .issuerOutsideValidity: "client certificate's chain to peer.tls.ca holds a certificate that expired or is not yet valid"
            case .notForClientAuthentication(let reason): "client certificate not usable for client authentication: \(reason)"
            }
        }
    }

    private let roots: [Certificate]

    /// `roots`: the certificates of `peer.tls.ca`, as NIOSSL read them.
    init(roots: [NIOSSLCertificate]) throws {
        self.roots = try roots.map(Self.certificate)
    }

    private static func certificate(_ certificate: NIOSSLCertificate) throws -> Certificate {
        try Certificate(derEncoded: certificate.toDERBytes())
    }

    /// The verdict on `presented` (leaf first, then any intermediates, as the client sent them) at `now`.
    func verify(_ presented: [NIOSSLCertificate], at now: Date) async -> Verdict {
        guard !presented.isEmpty else { return .missing }
        let chain: [Certificate]
        do {
            chain = try presented.map(Self.certificate)
        } catch {
            return .unreadable
        }
        let leaf = chain[0]
        let intermediates = CertificateStore(chain.dropFirst())
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: now)
            PeerClientUsagePolicy(enforcing: true)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        if case .validCertificate = result { return .verified }
        if case .couldNotValidate(let failures) = result { return await diagnose(leaf: leaf, intermediates: intermediates, at: now, failures: failures) }
        return .notSignedByCA
    }

    /// Why a chain the full check refused was refused: the same chain building with the validity period and the
    /// key usage left out tells a chain that does not reach the CA from one that does but is out of date or not
    /// meant for a client. (The usage policy still declares the extensions it understands, so a critical one
    /// does not stop the chain here for another reason than in the full check.)
    private func diagnose(leaf: Certificate, intermediates: CertificateStore, at now: Date, failures: [CertificateValidationResult.PolicyFailure]) async -> Verdict {
        var pathOnly = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy.withValidityCheckDisabled()
            PeerClientUsagePolicy(enforcing: false)
        }
        guard case .validCertificate(let path) = await pathOnly.validate(leaf: leaf, intermediates: intermediates) else { return .notSignedByCA }
        if now > leaf.notValidAfter { return .expired }
        if now < leaf.notValidBefore { return .notYetValid }
        if path.dropFirst().contains(where: { now > $0.notValidAfter || now < $0.notValidBefore }) { return .issuerOutsideValidity }
        return .notForClientAuthentication(failures.first.map { "\($0.policyFailureReason)" } ?? "refused by policy")
    }
}
