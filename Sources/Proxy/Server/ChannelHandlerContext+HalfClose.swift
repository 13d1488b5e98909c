import NIOCore

extension ChannelHandlerContext {
    /// Shuts the sending side of the connection, telling the peer no more bytes come, and
    /// closes the connection outright where that cannot be done (over TLS, a half-close is not
    /// possible, and the shutdown fails).
    func shutOutput() {
        let shut = eventLoop.makePromise(of: Void.self)
        close(mode: .output, promise: shut)
        shut.futureResult.assumeIsolated().whenFailure { [self] _ in
            close(promise: nil)
        }
    }
}
