import CertificateFiles
import Foundation
import NIOSSL
import Plugins

/// This member's side of mutual TLS between members: the server context its peer listener accepts with, which
/// asks every caller for a certificate and completes the handshake with or without one, the verifier that
/// decides whether the one presented is signed by the group's CA (the peer routes answer 401 otherwise), and
/// the client configuration its own peer calls present the same certificate with.
///
/// Both sides check the other's certificate against `peer.tls.ca` only, not its host name: members are reached
/// at addresses they advertise (often bare IPs), and the group's private CA signing a certificate is what makes
/// its holder a member — serf's and Consul's `verify_incoming` / `verify_outgoing` without
/// `verify_server_hostname`.
struct PeerCredentials: Sendable {
    var server: NIOSSLContext
    var clientVerifier: PeerClientVerifier
    var client: TLSConfiguration

    /// Reads the three files; the error says which file is wrong.
    static func load(_ tls: CoordinatorSettings.TLS) throws -> PeerCredentials {
        let chain = try certificates(tls.certificatePath, "certificate")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)
        } catch {
            throw Problem(file: tls.keyPath, reason: "'\(tls.keyPath)' is not a PEM private key (an encrypted key is not supported)")
        }
        let roots = try certificates(tls.caPath, "CA certificate")

        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        server.minimumTLSVersion = .tlsv12
        // Asks for a certificate (CertificateRequest) and takes the handshake without one; one presented goes to
        // the custom verification callback the listener installs per connection (PeerClientVerifier), which
        // replaces BoringSSL's chain check.
        server.certificateVerification = .optionalVerification
        server.trustRoots = .certificates(roots)
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv12
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.certificateVerification = .noHostnameVerification
        client.trustRoots = .certificates(roots)
        let clientVerifier: PeerClientVerifier
        do {
            clientVerifier = try PeerClientVerifier(roots: roots)
        } catch {
            throw Problem(file: tls.caPath, reason: "'\(tls.caPath)' holds a CA certificate that cannot be decoded (\(error))")
        }
        do {
            return PeerCredentials(server: try NIOSSLContext(configuration: server), clientVerifier: clientVerifier, client: client)
        } catch {
            throw Problem(file: nil, reason: "the key '\(tls.keyPath)' does not belong to the certificate '\(tls.certificatePath)' (\(error))")
        }
    }

    private static func certificates(_ path: String, _ what: String) throws -> [NIOSSLCertificate] {
        try readable(path)
        let found = try? NIOSSLCertificate.fromPEMFile(path)
        guard let found, !found.isEmpty else { throw Problem(file: path, reason: "'\(path)' holds no PEM \(what)") }
        return found
    }

    private static func readable(_ path: String) throws {
        var directory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else {
            throw Problem(file: path, reason: "cannot read '\(path)': no such file")
        }
        guard !directory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw Problem(file: path, reason: "cannot read '\(path)': \(directory.boolValue ? "a directory" : "permission denied")")
        }
    }

    /// A file that cannot be used, or (`file` nil) a key and certificate that do not go together.
    struct Problem: Error, CustomStringConvertible {
        var file: String?
        var reason: String
        var description: String { reason }
    }

    /// `peer.tls: {cert, key, ca}`, each file read as the configuration is, so that a missing file or a bad PEM
    /// is reported at the line and column that names it.
    static func decode(_ section: ConfigMapping) -> CoordinatorSettings.TLS? {
        let decoder = section.decoder
        let cert = section.required("cert", as: String.self)
        let key = section.required("key", as: String.self)
        let ca = section.required("ca", as: String.self)
        section.finish()
        guard let cert, let key, let ca else { return nil }
        let tls = CoordinatorSettings.TLS(certificatePath: cert, keyPath: key, caPath: ca)
        do {
            _ = try load(tls)
        } catch let problem as Problem {
            let field = ["cert": cert, "key": key, "ca": ca].first { $0.value == problem.file }?.key
            let location = field.flatMap { section.value($0)?.location } ?? section.location
            decoder.record("roles.coordinator.peer.tls\(field.map { ".\($0)" } ?? ""): \(problem.reason)", at: location)
        } catch {
            decoder.record("roles.coordinator.peer.tls: \(error)", at: section.location)
        }
        return tls
    }
}
