import Membership
import Testing

/// scrimplb's seed document as values: what is read, what is written, and the merge a publisher makes.
@Suite struct SeedListTests {
    func decode(_ text: String) throws -> SeedList {
        try SeedList.decode(Array(text.utf8))
    }

    func problem(_ text: String) -> String? {
        do {
            _ = try decode(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func scrimplbsDocumentIsRead() throws {
        // scrimplb writes ports as strings in its JSON configuration; numbers are read too.
        let list = try decode(#"{"seeds":[{"address":"10.0.0.5","port":"7946"},{"address":"lb-2.internal","port":7947,"updated":1764600000}]}"#)
        #expect(list.entries == [
            SeedList.Entry(address: "10.0.0.5", port: 7946),
            SeedList.Entry(address: "lb-2.internal", port: 7947, updated: 1_764_600_000),
        ])
        #expect(try decode(#"{"seeds":[]}"#).entries.isEmpty)
        #expect(try decode(#"{"seeds":null}"#).entries.isEmpty)
        #expect(try decode(#"{"seeds":[{"address":"a","port":1,"extra":true}],"other":1}"#).entries.count == 1)
    }

    @Test func brokenDocumentsFailWithTheReason() {
        #expect(problem("") == "not JSON")
        #expect(problem("not json") == "not JSON")
        #expect(problem("[]")?.contains("the document") == true)
        #expect(problem(#"{"seeds":[{"port":7946}]}"#) == "seeds[0].address: missing")
        #expect(problem(#"{"seeds":[{"address":"a","port":7946},{"address":"b"}]}"#) == "seeds[1].port: missing")
        #expect(problem(#"{"seeds":[{"address":"a","port":"x"}]}"#)?.hasPrefix("seeds[0].port:") == true)
        #expect(problem(#"{"seeds":[{"address":"a","port":70000}]}"#) == "seeds[0] has port 70000, not 1-65535")
        #expect(problem(#"{"seeds":[{"address":"","port":1}]}"#) == "seeds[0] has an empty or overlong address")
        #expect(problem(#"{"seeds":{"address":"a"}}"#)?.hasPrefix("seeds:") == true)
        #expect(problem(String(repeating: " ", count: SeedList.maximumSize + 1)) == "larger than \(SeedList.maximumSize) bytes")
    }

    @Test func anyBytesDecodeOrFailCleanly() {
        var random = SeededRandom(seed: 14)
        let pieces = [#"{"seeds":["#, #"{"address":"#, #""a""#, #","port":"#, "7946", "}", "]", "}", ",", "\"", "\\", "null", "-1", "1e400", "\u{0}", "é"]
        for _ in 0..<2000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...12, using: &random) { text += pieces.randomElement(using: &random)! }
            var bytes = Array(text.utf8)
            if Bool.random(using: &random), !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            if let list = try? SeedList.decode(bytes) {
                #expect(list.entries.allSatisfy { (1...65535).contains($0.port) && !$0.address.isEmpty })
            }
        }
    }

    @Test func theWrittenDocumentReadsBackTheSame() throws {
        let list = SeedList(entries: [
            SeedList.Entry(address: "10.0.0.5", port: 7946, updated: 100),
            SeedList.Entry(address: "fd00::1", port: 1, updated: nil),
            SeedList.Entry(address: "odd \"name\"\\\n", port: 65535, updated: -5),
        ])
        let bytes = list.encoded()
        #expect(try SeedList.decode(bytes) == list)
        #expect(String(decoding: SeedList(entries: [SeedList.Entry(address: "10.0.0.5", port: 7946, updated: 100)]).encoded(), as: UTF8.self)
            == #"{"seeds":[{"address":"10.0.0.5","port":7946,"updated":100}]}"# + "\n")
    }

    @Test func publishingReplacesItsOwnEntryAndKeepsTheOthers() {
        let list = SeedList(entries: [
            SeedList.Entry(address: "10.0.0.1", port: 7946, updated: 900),
            SeedList.Entry(address: "10.0.0.2", port: 7946, updated: 950),
            SeedList.Entry(address: "10.0.0.2", port: 7947, updated: 990),
        ])
        let merged = list.publishing(address: "10.0.0.2", port: 7946, now: 1000, maximumAge: 300)
        #expect(merged.entries == [
            SeedList.Entry(address: "10.0.0.2", port: 7946, updated: 1000),
            SeedList.Entry(address: "10.0.0.2", port: 7947, updated: 990),
            SeedList.Entry(address: "10.0.0.1", port: 7946, updated: 900),
        ])
        // Into an empty (absent) object: only itself.
        #expect(SeedList().publishing(address: "a", port: 1, now: 5, maximumAge: 1).entries == [SeedList.Entry(address: "a", port: 1, updated: 5)])
    }

    @Test func publishingDropsEntriesOlderThanTheBoundAndKeepsUndatedOnes() {
        let list = SeedList(entries: [
            SeedList.Entry(address: "old", port: 1, updated: 699),
            SeedList.Entry(address: "edge", port: 1, updated: 700),
            SeedList.Entry(address: "scrimplb", port: 1, updated: nil),
        ])
        let merged = list.publishing(address: "me", port: 1, now: 1000, maximumAge: 300)
        #expect(merged.entries.map(\.address) == ["me", "edge", "scrimplb"])
    }

    @Test func publishingBoundsTheDocument() {
        let many = SeedList(entries: (0..<(SeedList.maximumEntries + 10)).map { SeedList.Entry(address: "10.0.\($0 / 256).\($0 % 256)", port: 7946, updated: Int64($0)) })
        let merged = many.publishing(address: "me", port: 1, now: 10_000, maximumAge: 100_000)
        #expect(merged.entries.count == SeedList.maximumEntries)
        #expect(merged.entries.first?.address == "me")
        // The oldest go first.
        #expect(!merged.entries.contains { $0.updated == 0 })
        #expect(merged.contains(address: "me", port: 1))
        #expect(!merged.contains(address: "me", port: 2))
    }

    @Test func twoPublishersMergingInEitherOrderKeepBoth() {
        let start = SeedList(entries: [SeedList.Entry(address: "c", port: 1, updated: 10)])
        let ab = start.publishing(address: "a", port: 1, now: 20, maximumAge: 300).publishing(address: "b", port: 1, now: 21, maximumAge: 300)
        let ba = start.publishing(address: "b", port: 1, now: 21, maximumAge: 300).publishing(address: "a", port: 1, now: 20, maximumAge: 300)
        #expect(Set(ab.entries) == Set(ba.entries))
        #expect(ab.entries.map(\.address) == ["b", "a", "c"])
    }

    @Test func withdrawingTakesOutOnlyItsOwnEntry() {
        let list = SeedList(entries: [
            SeedList.Entry(address: "10.0.0.1", port: 7946, updated: 900),
            SeedList.Entry(address: "10.0.0.1", port: 7947, updated: 950),
            SeedList.Entry(address: "10.0.0.2", port: 7946),
        ])
        #expect(list.withdrawing(address: "10.0.0.1", port: 7946).entries == Array(list.entries.dropFirst()))
        #expect(list.withdrawing(address: "10.0.0.3", port: 7946) == list)
        #expect(SeedList().withdrawing(address: "10.0.0.1", port: 7946).entries.isEmpty)
    }
}
