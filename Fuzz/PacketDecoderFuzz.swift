// libFuzzer entry for the gossip packet decoders: `make fuzz` compiles it with the wire and serf sources of
// Sources/Membership (all but the label/AES-GCM framing, PacketFrame and StreamFrame, which need swift-crypto and are covered by
// the property tests in Tests/MembershipTests/Wire/DecoderPropertyTests.swift). Any trap, overflow or address error is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketDecoders(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    _ = PacketContents(input)
    _ = try? MessagePackReader.decode(input)
    if let first = input.first {
        _ = try? Message.decode([first % 14] + input.dropFirst())
    }
    _ = try? LZW.decompress(input, maximumOutput: 1 << 20)
    _ = try? SerfMessage.decode(input)
    _ = try? SerfTags.decode(input)
    if var layer = try? SerfLayer(nodeName: "fuzz", tags: ["role": "fuzz"]) {
        _ = try? layer.receive(input)
        _ = try? layer.mergeRemoteState(input)
    }
    return 0
}
