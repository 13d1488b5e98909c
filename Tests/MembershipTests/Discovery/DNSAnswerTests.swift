import Membership
import Testing

/// DNS answers as the SRV seed source reads them (RFC 1035 section 4, RFC 2782), from messages built by hand.
@Suite struct DNSAnswerTests {
    func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    func record(_ owner: [UInt8], type: Int, _ rdata: [UInt8], recordClass: Int = 1) -> [UInt8] {
        owner + u16(type) + u16(recordClass) + [0, 0, 0, 60] + u16(rdata.count) + rdata
    }

    func message(rcode: UInt8 = 0, answers: [[UInt8]], additional: [[UInt8]] = []) -> [UInt8] {
        let question = name("_outrider._udp.example.com") + u16(33) + u16(1)
        return [0x12, 0x34, 0x85, 0x80 | rcode] + u16(1) + u16(answers.count) + u16(0) + u16(additional.count)
            + question + answers.flatMap { $0 } + additional.flatMap { $0 }
    }

    @Test func srvRecordsAndTheirAddressesAreRead() throws {
        // The owner compressed as a pointer to the question (offset 12), one target compressed too.
        let bytes = message(
            answers: [
                record([0xC0, 0x0C], type: 33, u16(10) + u16(5) + u16(7946) + name("lb-1.example.com")),
                record([0xC0, 0x0C], type: 33, u16(0) + u16(1) + u16(7947) + Array(name("lb-2").dropLast()) + [0xC0, 0x1B]),
                record([0xC0, 0x0C], type: 16, [3, 0x61, 0x62, 0x63]),
            ],
            additional: [
                record(name("LB-1.example.com"), type: 1, [10, 0, 0, 5]),
                record(name("lb-1.example.com"), type: 28, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]),
                record(name("lb-1.example.com"), type: 1, [10, 0, 0, 6], recordClass: 3),
            ])
        let answer = try DNSAnswer.parse(bytes)
        #expect(answer.services == [
            DNSAnswer.Service(priority: 10, weight: 5, port: 7946, target: "lb-1.example.com"),
            DNSAnswer.Service(priority: 0, weight: 1, port: 7947, target: "lb-2.example.com"),
        ])
        #expect(answer.orderedServices.map(\.port) == [7947, 7946])
        #expect(answer.addresses == ["lb-1.example.com": ["10.0.0.5", "2001:db8::1"]])
    }

    @Test func theOrderIsPriorityThenWeightAndDotMeansNone() throws {
        let bytes = message(answers: [
            record([0xC0, 0x0C], type: 33, u16(1) + u16(1) + u16(1) + name("a")),
            record([0xC0, 0x0C], type: 33, u16(1) + u16(9) + u16(2) + name("b")),
            record([0xC0, 0x0C], type: 33, u16(0) + u16(0) + u16(3) + [0]),
        ])
        #expect(try DNSAnswer.parse(bytes).orderedServices.map(\.target) == ["b", "a"])
    }

    @Test func failuresAreNamed() {
        #expect(throws: DNSAnswer.DecodingError.self) { try DNSAnswer.parse([1, 2, 3]) }
        #expect((try? DNSAnswer.parse(message(rcode: 3, answers: []))) == nil)
        do {
            _ = try DNSAnswer.parse(message(rcode: 3, answers: []))
        } catch {
            #expect(error.description == "no such name (NXDOMAIN)")
        }
        // A pointer to itself: a loop, ended.
        let loop = message(answers: [record([0xC0, 0x0C], type: 33, u16(0) + u16(0) + u16(1) + [0xC0, 0x3E])])
        #expect(throws: DNSAnswer.DecodingError.self) { try DNSAnswer.parse(loop) }
    }

    @Test func ipv6IsWrittenAsRFC5952Says() throws {
        func text(_ groups: [Int]) throws -> String {
            let bytes = message(answers: [record(name("h"), type: 28, groups.flatMap { u16($0) })])
            return try #require(try DNSAnswer.parse(bytes).addresses["h"]?.first)
        }
        #expect(try text([0, 0, 0, 0, 0, 0, 0, 1]) == "::1")
        #expect(try text([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]) == "2001:db8::1:0:0:1")
        #expect(try text([0x2001, 0xdb8, 1, 0, 1, 1, 1, 1]) == "2001:db8:1:0:1:1:1:1")
        #expect(try text([0, 0, 0, 0, 0, 0, 0, 0]) == "::")
        #expect(try text([0xfe80, 0, 0, 0, 0, 0, 0, 0]) == "fe80::")
    }

    @Test func anyBytesDecodeOrFailCleanly() {
        var random = SeededRandom(seed: 2782)
        let valid = message(
            answers: [record([0xC0, 0x0C], type: 33, u16(1) + u16(1) + u16(7946) + name("lb") + [])],
            additional: [record(name("lb"), type: 1, [127, 0, 0, 1])])
        for _ in 0..<5000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            if let answer = try? DNSAnswer.parse(bytes) {
                #expect(answer.services.allSatisfy { $0.target.utf8.count <= 255 })
            }
        }
    }
}
