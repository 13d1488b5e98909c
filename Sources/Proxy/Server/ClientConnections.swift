import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// The open client connections over all listeners: counted against the connection limit and
/// drained on shutdown.
final class ClientConnections: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let count = ManagedAtomic<Int>(0)

    var openCount: Int { count.load(ordering: .relaxed) }

    /// Registers an accepted connection, or refuses it when `limit` connections are open.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        if count.wrappingIncrementThenLoad(ordering: .relaxed) > limit {
            count.wrappingDecrement(ordering: .relaxed)
            return false
        }
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [channels, count] _ in
            channels.withLockedValue { _ = $0.removeValue(forKey: id) }
            count.wrappingDecrement(ordering: .relaxed)
        }
        return true
    }

    /// Asks every connection to close once its current response is done (NIO's
    /// `ChannelShouldQuiesceEvent`, which `HTTPServerPipelineHandler` and the HTTP/2 handler
    /// honour), waits up to `grace`, then closes whatever is still open.
    func quiesce(grace: TimeAmount, on eventLoop: any EventLoop) async {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = NIODeadline.now() + grace
        while openCount > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = channels.withLockedValue { Array($0.values) }
        for channel in remaining {
            try? await channel.close()
        }
    }
}
