import NIOCore

/// Counts the `read` calls that reach it: put first in a pipeline, it tells whether the
/// handlers behind it passed a read on to the channel or held it back.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Never
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
