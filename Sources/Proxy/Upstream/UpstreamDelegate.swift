import NIOHTTP1

/// The request currently using an upstream connection; receives that connection's events.
///
/// Both sides live on the same event loop (the upstream connection is made on the client
/// connection's loop), so these are plain synchronous calls with no hop.
protocol UpstreamDelegate: AnyObject {
    func upstreamReceived(_ part: ResponseParser.Part)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    /// The connection closed or failed; `error` is the first error seen, if any.
    func upstreamClosed(error: (any Error)?)
    /// Whether the client can take more response bytes now; reads from the backend wait until it can.
    var downstreamIsWritable: Bool { get }
}
