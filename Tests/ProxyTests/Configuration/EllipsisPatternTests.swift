import Testing

@testable import Proxy

@Suite struct EllipsisPatternTests {
    @Test func decimalRange() throws {
        #expect(try EllipsisPattern("http://minio{1...4}:9000").expanded() == [
            "http://minio1:9000", "http://minio2:9000", "http://minio3:9000", "http://minio4:9000",
        ])
    }

    @Test func hexadecimalRangeWhenNotDecimal() throws {
        #expect(try EllipsisPattern("h{a...f}").expanded() == ["ha", "hb", "hc", "hd", "he", "hf"])
        #expect(try EllipsisPattern("h{9...c}").expanded() == ["h9", "ha", "hb", "hc"])
    }

    @Test func zeroPaddingWhenStartHasLeadingZero() throws {
        #expect(try EllipsisPattern("d{01...03}").expanded() == ["d01", "d02", "d03"])
        #expect(try EllipsisPattern("d{001...3}").expanded() == ["d001", "d002", "d003"])
    }

    @Test func zeroPaddingWhenEndStartsWithZero() throws {
        #expect(try EllipsisPattern("d{8...010}").expanded() == ["d008", "d009", "d010"])
    }

    @Test func noPaddingOtherwise() throws {
        #expect(try EllipsisPattern("d{8...10}").expanded() == ["d8", "d9", "d10"])
        #expect(try EllipsisPattern("d{0...2}").expanded() == ["d0", "d1", "d2"])
    }

    @Test func severalRangesGiveCartesianProductLeftmostSlowest() throws {
        #expect(try EllipsisPattern("h{1...2}d{1...3}").expanded() == ["h1d1", "h1d2", "h1d3", "h2d1", "h2d2", "h2d3"])
    }

    @Test func literalWithoutRanges() throws {
        let pattern = try EllipsisPattern("http://a:9000")
        #expect(!pattern.hasRanges)
        #expect(pattern.expanded() == ["http://a:9000"])
    }

    @Test func errors() {
        #expect(throws: EllipsisPattern.ParseError.startAfterEnd("4...1")) { try EllipsisPattern("h{4...1}") }
        #expect(throws: EllipsisPattern.ParseError.invalidRange("1..4")) { try EllipsisPattern("h{1..4}") }
        #expect(throws: EllipsisPattern.ParseError.invalidRange("x...z")) { try EllipsisPattern("h{x...z}") }
        #expect(throws: EllipsisPattern.ParseError.unbalancedBrace) { try EllipsisPattern("h{1...4") }
        #expect(throws: EllipsisPattern.ParseError.unbalancedBrace) { try EllipsisPattern("h1...4}") }
        #expect(throws: EllipsisPattern.ParseError.invalidRange("...4")) { try EllipsisPattern("h{...4}") }
    }
}
