import NIOSSL

extension ProxyConfiguration.ServerTLS {
    /// A TLS server context for a listener: TLS 1.2 to 1.3 and ALPN offering `h2` then
    /// `http/1.1` (RFC 7301), so HTTP/2-capable clients get HTTP/2.
    func makeContext() throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key: NIOSSLPrivateKey
        if let keyPassword {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem) { setter in
                setter(Array(keyPassword.utf8))
            }
        } else {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.applicationProtocols = ["h2", "http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}

extension ProxyConfiguration.ClientTLS {
    /// The TLS client context for `https://` backends (sidekick's `--insecure`, `--cacert`,
    /// `--client-cert` and `--client-key`). Backends are spoken to in HTTP/1.1.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if insecure {
            configuration.certificateVerification = .none
        }
        if let caPath {
            configuration.trustRoots = .file(caPath)
        }
        if let certificatePath, let keyPath {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
