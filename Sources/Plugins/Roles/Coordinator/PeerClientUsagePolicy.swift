import SwiftASN1
import X509

/// The key usage checks a TLS server makes of a client's chain beyond RFC 5280's path validation, which
/// swift-certificates' `RFC5280Policy` leaves out (it declares keyUsage understood but does not police it):
///
/// - the leaf: a keyUsage extension, if present, allows digitalSignature or keyAgreement (RFC 5280 section
///   4.2.1.3; the key signs the handshake's CertificateVerify), and an extendedKeyUsage extension, if present,
///   lists id-kp-clientAuth (RFC 5280 section 4.2.1.12, RFC 5246 / RFC 8446 client authentication);
/// - every intermediate CA: keyUsage, if present, allows keyCertSign (RFC 5280 section 6.1.4 (n)), and
///   extendedKeyUsage, if present, lists id-kp-clientAuth, as BoringSSL's "ssl_client" purpose (crypto/x509
///   `check_purpose_ssl_client`) requires of every certificate it checks;
/// - the trust anchor itself is taken as configured (RFC 5280 section 6.1.1: its data is input to validation).
///
/// anyExtendedKeyUsage is not taken for clientAuth, as BoringSSL does not take it. Subject alternative names
/// are declared understood: a critical one only says that the subject is empty (RFC 5280 section 4.2.1.6), and
/// names are not what makes a member.
struct PeerClientUsagePolicy: VerifierPolicy {
    /// False for the diagnosis pass that checks the path alone.
    var enforcing: Bool

    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.keyUsage,
        .X509ExtensionID.extendedKeyUsage,
        .X509ExtensionID.subjectAlternativeName,
    ]

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard enforcing else { return .meetsPolicy }
        for (index, certificate) in chain.enumerated() {
            let isLeaf = index == 0
            let isAnchor = index == chain.count - 1 && !isLeaf
            guard !isAnchor else { continue }
            let keyUsage: KeyUsage?
            let extendedKeyUsage: ExtendedKeyUsage?
            do {
                keyUsage = try certificate.extensions.keyUsage
                extendedKeyUsage = try certificate.extensions.extendedKeyUsage
            } catch {
                return .failsToMeetPolicy(reason: "\(isLeaf ? "its" : "an issuer's") key usage extension cannot be decoded")
            }
            if let extendedKeyUsage, !extendedKeyUsage.contains(.clientAuth) {
                return .failsToMeetPolicy(reason: "\(isLeaf ? "its" : "an issuer's") extended key usage does not include clientAuth")
            }
            if let keyUsage {
                if isLeaf, !keyUsage.digitalSignature, !keyUsage.keyAgreement {
                    return .failsToMeetPolicy(reason: "its key usage allows neither digitalSignature nor keyAgreement")
                }
                if !isLeaf, !keyUsage.keyCertSign {
                    return .failsToMeetPolicy(reason: "an issuer's key usage does not allow keyCertSign")
                }
            }
        }
        return .meetsPolicy
    }
}
