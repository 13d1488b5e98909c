import Foundation

/// A throwaway CA and certificates for 127.0.0.1 (usable by servers and clients), made with `openssl` in a
/// temporary directory at test time.
public struct TestCertificates: Sendable {
    public let directory: URL

    public var caPath: String { path("ca.pem") }
    public var certificatePath: String { path("server.pem") }
    public var keyPath: String { path("server.key") }
    public var encryptedKeyPath: String { path("server-encrypted.key") }
    public static let keyPassword = "correct horse"

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try certificates.run(
            """
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=outrider-test-ca
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
            """
        )
        try certificates.issue(name: "server", commonName: "first")
        try certificates.run(
            "openssl pkey -in server.key -aes256 -passout 'pass:\(keyPassword)' -out server-encrypted.key"
        )
        return certificates
    }

    /// Issues `<name>.pem` and `<name>.key` signed by the test CA.
    public func issue(name: String, commonName: String) throws {
        try run(
            """
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(name).key.new -out \(name).csr -subj /CN=\(commonName)
            openssl x509 -req -in \(name).csr -CA ca.pem -CAkey ca.key -CAcreateserial -out \(name).pem.new -days 2 -extfile san.ext
            mv \(name).key.new \(name).key
            mv \(name).pem.new \(name).pem
            """
        )
    }

    /// Issues `<name>.pem` and `<name>.key` signed by the test CA, valid from `notBefore` until `notAfter`
    /// (`YYYYMMDDHHMMSSZ`, so that a test can make one that has expired or is not valid yet), with `extensions`
    /// (openssl extension lines such as `extendedKeyUsage=serverAuth`) beside the subject alternative names.
    public func issue(name: String, commonName: String, notBefore: String, notAfter: String, extensions: [String] = []) throws {
        let lines = ["subjectAltName=IP:127.0.0.1,DNS:localhost"] + extensions
        try run(
            """
            rm -rf \(name).ca && mkdir \(name).ca && : > \(name).ca/index.txt && echo 01 > \(name).ca/serial
            printf '[ca]\\ndefault_ca=test\\n[test]\\ndatabase=\(name).ca/index.txt\\nnew_certs_dir=\(name).ca\\nserial=\(name).ca/serial\\ndefault_md=sha256\\npolicy=any\\nunique_subject=no\\n[any]\\ncommonName=supplied\\n' > \(name).ca/ca.cnf
            printf '\(lines.joined(separator: "\\n"))\\n' > \(name).ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(name).key.new -out \(name).csr -subj /CN=\(commonName)
            openssl ca -batch -notext -config \(name).ca/ca.cnf -cert ca.pem -keyfile ca.key -in \(name).csr -out \(name).pem.new -startdate \(notBefore) -enddate \(notAfter) -extfile \(name).ext
            mv \(name).key.new \(name).key
            mv \(name).pem.new \(name).pem
            """
        )
    }

    /// Issues `<name>.pem` and `<name>.key`, an intermediate CA certificate signed by the test CA, with `keyUsage`
    /// (openssl's syntax) as its key usage extension.
    public func issueIntermediate(name: String, keyUsage: String = "critical,keyCertSign,cRLSign") throws {
        try run(
            """
            printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=\(keyUsage)\\n' > \(name).ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(name).key -out \(name).csr -subj /CN=\(name)
            openssl x509 -req -in \(name).csr -CA ca.pem -CAkey ca.key -CAcreateserial -out \(name).pem -days 2 -extfile \(name).ext
            """
        )
    }

    /// Issues `<name>.pem` and `<name>.key` signed by the intermediate `issuer` (``issueIntermediate(name:keyUsage:)``),
    /// and `<name>-chain.pem`: the certificate followed by the intermediate's, as a client presents them.
    public func issue(name: String, commonName: String, issuer: String) throws {
        try run(
            """
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(name).key -out \(name).csr -subj /CN=\(commonName)
            openssl x509 -req -in \(name).csr -CA \(issuer).pem -CAkey \(issuer).key -CAcreateserial -out \(name).pem -days 2 -extfile san.ext
            cat \(name).pem \(issuer).pem > \(name)-chain.pem
            """
        )
    }

    /// Makes `<name>.pem` and `<name>.key`, a certificate signed by its own key (no CA).
    public func selfSigned(name: String, commonName: String) throws {
        try run(
            """
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \(name).key -out \(name).pem -days 2 -subj /CN=\(commonName) -addext subjectAltName=IP:127.0.0.1
            """
        )
    }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private struct CommandFailed: Error {
        var status: Int32
        var output: String
    }

    /// Foundation's `Process` can miss a child's exit on Linux when tests start processes in
    /// parallel, leaving `waitUntilExit` polling for ever; `posix_spawn` and `waitpid` cannot.
    private func run(_ script: String) throws {
        let log = path("command.log")
        let command = "cd '\(directory.path)' && ( \(script) ) > '\(log)' 2>&1"
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-e", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard spawned == 0 else { throw CommandFailed(status: spawned, output: "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if status != 0 {
            throw CommandFailed(status: status, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }
    }
}
