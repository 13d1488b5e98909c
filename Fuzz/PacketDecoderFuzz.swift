// libFuzzer entry for the gossip packet decoders, built by `make fuzz` from the wire and serf sources of
// Sources/Membership (linked with the swift-crypto objects of the debug build). Any trap, overflow or address
// error is a finding.

/// A fixed keyring, so that inputs reach the decryption path (the fuzzer cannot forge AES-GCM tags, but it can
/// reach every length and version check before them).
private let keyring = try? Keyring(keys: [Array(repeating: 7, count: 16), Array(repeating: 9, count: 32)])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketDecoders(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    if let opened = try? PacketFrame().open(input) { _ = PacketContents(opened) }
    _ = try? PacketFrame(keyring: keyring).open(input)
    _ = try? PacketFrame(label: "fuzz", keyring: keyring, verifyIncoming: false).open(input)
    _ = try? StreamFrame().decode(input)
    _ = try? StreamFrame(keyring: keyring).decode(input)
    _ = try? keyring?.decrypt(input)
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
