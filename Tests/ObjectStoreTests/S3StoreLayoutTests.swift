import Foundation
import NIOCore
@testable import Proxy
import Testing
import TestSupport

/// The S3 store's object layout and its base64, as pure values.
@Suite struct S3StoreLayoutTests {
    @Test func base64AgreesWithFoundation() {
        var generator = SeededGenerator(seed: 41)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString(), "\(bytes)")
            #expect(Base64.decode(encoded) == bytes, "\(bytes)")
        }
    }

    /// Any string: decoded exactly when Foundation decodes it and re-encodes to the same text (canonical).
    @Test func base64DecodesOnlyCanonicalText() {
        var generator = SeededGenerator(seed: 43)
        let alphabet = Array("AZaz09+/=-_ \n")
        for _ in 0..<5000 {
            let text = String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let foundation = Data(base64Encoded: text).map(Array.init)
            let canonical = foundation.flatMap { Data($0).base64EncodedString() == text ? $0 : nil }
            #expect(Base64.decode(text) == canonical, "\(text)")
        }
    }

    @Test func smallHeadsGoInlineLargeOnesInABlock() {
        let small = S3StoreLayout(metadata: ByteBuffer(repeating: 7, count: S3StoreLayout.inlineLimit), bodyLength: 10)
        #expect(small.headBlockLength == 0)
        let fields = small.userMetadata
        #expect(fields["outrider-format"] == "1")
        #expect(fields["outrider-body-length"] == "10")
        #expect(fields.values.reduce(0) { $0 + $1.utf8.count } + fields.keys.reduce(0) { $0 + $1.utf8.count + 11 } < 2048)
        #expect(S3StoreLayout(userMetadata: fields, objectLength: 10) == small)

        let large = S3StoreLayout(metadata: ByteBuffer(repeating: 7, count: S3StoreLayout.inlineLimit + 1), bodyLength: nil)
        #expect(large.headBlockLength == S3StoreLayout.inlineLimit + 1)
        let read = S3StoreLayout(userMetadata: large.userMetadata, objectLength: Int64(S3StoreLayout.inlineLimit + 1 + 500))
        #expect(read?.bodyLength == 500)
    }

    @Test func foreignOrInconsistentMetadataIsRefused() {
        #expect(S3StoreLayout(userMetadata: [:], objectLength: 5) == nil)
        #expect(S3StoreLayout(userMetadata: ["outrider-format": "2", "outrider-head": "aA=="], objectLength: 5) == nil)
        #expect(S3StoreLayout(userMetadata: ["outrider-format": "1", "outrider-head": "not base64!"], objectLength: 5) == nil)
        #expect(S3StoreLayout(userMetadata: ["outrider-format": "1", "outrider-head": "aA==", "outrider-body-length": "6"], objectLength: 5) == nil)
        #expect(S3StoreLayout(userMetadata: ["outrider-format": "1", "outrider-head-length": "9"], objectLength: 5) == nil)
        #expect(S3StoreLayout(userMetadata: ["outrider-format": "1", "outrider-head-length": "-1"], objectLength: 5) == nil)
        #expect(S3StoreLayout(userMetadata: ["outrider-format": "1", "outrider-head": "aA==", "outrider-body-length": "x"], objectLength: 5) == nil)
    }
}
