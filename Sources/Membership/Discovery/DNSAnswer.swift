/// The records of a DNS answer that seed sources use: SRV (RFC 2782) and the A and AAAA records (RFC 1035
/// section 3.4.1, RFC 3596) a server adds for their targets.
///
/// The message is parsed as RFC 1035 section 4 lays it out: a 12-byte header, the questions (skipped), then the
/// answer, authority and additional sections of resource records, names compressed with pointers (section 4.1.4;
/// RFC 2782 forbids compressing an SRV target, servers do it anyway). The bytes come from the network: any input
/// decodes or fails, a name is at most 255 bytes and follows at most 64 pointers, so a pointer loop ends.
public struct DNSAnswer: Sendable, Equatable {
    /// One SRV record: where a service runs.
    public struct Service: Sendable, Hashable {
        public var priority: UInt16
        public var weight: UInt16
        public var port: Int
        /// The host name, without the trailing dot; "." (no service) is the empty string.
        public var target: String

        public init(priority: UInt16, weight: UInt16, port: Int, target: String) {
            self.priority = priority
            self.weight = weight
            self.port = port
            self.target = target
        }
    }

    public var services: [Service]
    /// A and AAAA records by owner name (lower-cased, no trailing dot), in message order.
    public var addresses: [String: [String]]

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    static let typeA: UInt16 = 1
    static let typeAAAA: UInt16 = 28
    static let typeSRV: UInt16 = 33
    static let classIN: UInt16 = 1

    public static func parse(_ bytes: [UInt8]) throws(DecodingError) -> DNSAnswer {
        var reader = Reader(bytes: bytes)
        let header = try reader.take(12)
        let rcode = header[3] & 0x0F
        guard rcode == 0 else { throw DecodingError(rcode == 3 ? "no such name (NXDOMAIN)" : "the server answered rcode \(rcode)") }
        let questions = Int(header[4]) << 8 | Int(header[5])
        let records = (Int(header[6]) << 8 | Int(header[7])) + (Int(header[8]) << 8 | Int(header[9])) + (Int(header[10]) << 8 | Int(header[11]))
        for _ in 0..<questions {
            _ = try reader.name()
            _ = try reader.take(4)
        }
        var answer = DNSAnswer(services: [], addresses: [:])
        for _ in 0..<records {
            let owner = try reader.name().lowercased()
            let fields = try reader.take(10)
            let type = UInt16(fields[0]) << 8 | UInt16(fields[1])
            let recordClass = UInt16(fields[2]) << 8 | UInt16(fields[3])
            let length = Int(fields[8]) << 8 | Int(fields[9])
            let start = reader.offset
            guard start + length <= bytes.count else { throw DecodingError("a record runs past the end of the message") }
            defer { reader.offset = start + length }
            guard recordClass == classIN else { continue }
            switch type {
            case typeSRV:
                guard length >= 7 else { throw DecodingError("an SRV record of \(length) bytes") }
                let fixed = try reader.take(6)
                let target = try reader.name()
                guard reader.offset <= start + length else { throw DecodingError("an SRV target runs past its record") }
                answer.services.append(Service(
                    priority: UInt16(fixed[0]) << 8 | UInt16(fixed[1]), weight: UInt16(fixed[2]) << 8 | UInt16(fixed[3]),
                    port: Int(fixed[4]) << 8 | Int(fixed[5]), target: target))
            case typeA where length == 4:
                let octets = try reader.take(4)
                answer.addresses[owner, default: []].append(octets.map(String.init).joined(separator: "."))
            case typeAAAA where length == 16:
                let octets = try reader.take(16)
                answer.addresses[owner, default: []].append(Self.ipv6(octets))
            default:
                continue
            }
        }
        return answer
    }

    /// The services to try, in RFC 2782's order: lowest priority first, heavier weight first within one (the
    /// weighted random choice is left to the order joins are tried in); a target of "." means none.
    public var orderedServices: [Service] {
        services.filter { !$0.target.isEmpty && $0.port > 0 }.enumerated().sorted { left, right in
            if left.element.priority != right.element.priority { return left.element.priority < right.element.priority }
            if left.element.weight != right.element.weight { return left.element.weight > right.element.weight }
            return left.offset < right.offset
        }.map(\.element)
    }

    /// RFC 5952's text form: lower-case hex, leading zeros dropped, the longest run of two or more zero groups as
    /// `::`.
    static func ipv6(_ octets: [UInt8]) -> String {
        let groups = (0..<8).map { Int(octets[2 * $0]) << 8 | Int(octets[2 * $0 + 1]) }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > best.length { best = (index, end - index) }
            index = end
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        /// The next `count` bytes, indexed from 0.
        mutating func take(_ count: Int) throws(DecodingError) -> [UInt8] {
            guard count >= 0, offset + count <= bytes.count else { throw DecodingError("the message ends early") }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        /// A domain name at `offset`, which moves past it (past the first pointer when there is one).
        mutating func name() throws(DecodingError) -> String {
            var labels: [String] = []
            var position = offset
            var jumps = 0
            var total = 0
            var resume: Int?
            while true {
                guard position < bytes.count else { throw DecodingError("a name runs past the end of the message") }
                let length = Int(bytes[position])
                if length == 0 {
                    position += 1
                    break
                }
                switch length & 0xC0 {
                case 0xC0:
                    guard position + 1 < bytes.count else { throw DecodingError("a name pointer runs past the end of the message") }
                    jumps += 1
                    guard jumps <= 64 else { throw DecodingError("a name with a pointer loop") }
                    if resume == nil { resume = position + 2 }
                    position = (length & 0x3F) << 8 | Int(bytes[position + 1])
                case 0x00:
                    guard position + 1 + length <= bytes.count else { throw DecodingError("a label runs past the end of the message") }
                    total += length + 1
                    guard total <= 255 else { throw DecodingError("a name longer than 255 bytes") }
                    labels.append(String(decoding: bytes[(position + 1)...(position + length)], as: UTF8.self))
                    position += 1 + length
                default:
                    throw DecodingError("a label of an unknown kind")
                }
            }
            offset = resume ?? position
            return labels.joined(separator: ".")
        }
    }
}
