import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

@Suite struct TunnelHandlerTests {
    private func pair() throws -> (EmbeddedChannel, EmbeddedChannel) {
        let (left, right) = TunnelHandler.pair()
        let loop = EmbeddedEventLoop()
        let client = EmbeddedChannel(handler: left, loop: loop)
        let backend = EmbeddedChannel(handler: right, loop: loop)
        return (client, backend)
    }

    @Test func copiesBytesBothWays() throws {
        let (client, backend) = try pair()
        try client.writeInbound(ByteBuffer(string: "from client"))
        client.pipeline.fireChannelReadComplete()
        #expect(try backend.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "from client"))
        try backend.writeInbound(ByteBuffer(string: "from backend"))
        backend.pipeline.fireChannelReadComplete()
        #expect(try client.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "from backend"))
    }

    @Test func holdsReadsWhilePartnerIsNotWritable() throws {
        let (client, backend) = try pair()
        let reads = ReadCounter()
        try client.pipeline.syncOperations.addHandler(reads, position: .first)
        backend.isWritable = false
        client.read()
        #expect(reads.count == 0)
        backend.isWritable = true
        backend.pipeline.fireChannelWritabilityChanged()
        #expect(reads.count == 1)
        client.read()
        #expect(reads.count == 2)
    }

    @Test func closingOneSideClosesTheOther() throws {
        let (client, backend) = try pair()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        try client.connect(to: address).wait()
        try backend.connect(to: address).wait()
        #expect(backend.isActive)
        try client.close().wait()
        #expect(!backend.isActive)
    }
}
