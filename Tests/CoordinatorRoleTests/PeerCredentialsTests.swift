import CertificateFiles
@testable import CoordinatorRole
import Foundation
import NIOSSL
import TestSupport
import Testing

/// `peer.tls`'s files watched for change, as the role reloads them: renewed files are taken, files caught
/// broken are not (the previous credentials stay), and fixed files are taken again.
@Suite struct PeerCredentialsTests {
    @Test func renewedFilesAreTakenAndBrokenOnesKeepThePrevious() throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let tls = CoordinatorSettings.TLS(certificatePath: certificates.certificatePath, keyPath: certificates.keyPath, caPath: certificates.caPath)
        let files = try WatchedFiles(paths: tls.paths) { try PeerCredentials.load(tls) }
        let first = files.value.client.certificateChain
        guard case .unchanged = files.reloadIfChanged() else { Issue.record("nothing changed"); return }

        try certificates.issue(name: "server", commonName: "renewed")
        guard case .reloaded = files.reloadIfChanged() else { Issue.record("renewed files are taken"); return }
        let renewed = files.value.client.certificateChain
        #expect(renewed != first)
        guard case .unchanged = files.reloadIfChanged() else { Issue.record("taken once"); return }

        let good = try Data(contentsOf: URL(fileURLWithPath: certificates.certificatePath))
        try Data("-----BEGIN CERTIFICATE-----\nhalf".utf8).write(to: URL(fileURLWithPath: certificates.certificatePath), options: .atomic)
        guard case .failed(let error) = files.reloadIfChanged() else { Issue.record("a broken file does not load"); return }
        #expect("\(error)".contains("holds no PEM certificate"), "\(error)")
        #expect(files.value.client.certificateChain == renewed, "the previous credentials stay")

        try good.write(to: URL(fileURLWithPath: certificates.certificatePath), options: .atomic)
        guard case .reloaded = files.reloadIfChanged() else { Issue.record("fixed files are taken"); return }
        #expect(files.value.client.certificateChain == renewed)
    }

    @Test func aMissingFileAtStartIsAnError() throws {
        let tls = CoordinatorSettings.TLS(certificatePath: "/nonexistent/peer.pem", keyPath: "/nonexistent/peer.key", caPath: "/nonexistent/ca.pem")
        #expect(throws: PeerCredentials.Problem.self) { _ = try WatchedFiles(paths: tls.paths) { try PeerCredentials.load(tls) } }
    }
}
