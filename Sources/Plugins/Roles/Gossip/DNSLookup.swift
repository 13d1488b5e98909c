import CResolv
import Membership
import NIOPosix

/// DNS queries for `dns` seed sources that `getaddrinfo` cannot make: SRV records (RFC 2782), and any lookup at a
/// given server (`server:`). The query is libresolv's `res_nquery` (through `CResolv`), run on NIO's blocking
/// thread pool so that a slow server never holds a task thread; the answer is parsed by ``DNSAnswer``.
enum DNSLookup {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The message answering `name`'s records of `type` (1 A, 28 AAAA, 33 SRV).
    static func query(_ name: String, type: Int32, server: NodeAddress?) async throws -> DNSAnswer {
        let (bytes, failure) = try await NIOThreadPool.singleton.runIfActive { () -> ([UInt8], Int32) in
            var answer = [UInt8](repeating: 0, count: 65535)
            var failure: Int32 = 0
            let count = answer.withUnsafeMutableBufferPointer { buffer in
                if let server {
                    return outrider_dns_query(name, type, server.host, Int32(server.port), buffer.baseAddress, Int32(buffer.count), &failure)
                }
                return outrider_dns_query(name, type, nil, 0, buffer.baseAddress, Int32(buffer.count), &failure)
            }
            return (count < 0 ? [] : Array(answer.prefix(Int(count))), failure)
        }
        guard !bytes.isEmpty else {
            let reason =
                switch failure {
                case 1: "no such name"
                case 2: "no answer from the DNS server (try again)"
                case 3: "the DNS server failed"
                case 4: "no records of that type"
                default: "the resolver could not be set up"
                }
            throw Failure(description: "\(name): \(reason)\(server.map { " (asking \($0))" } ?? "")")
        }
        do {
            return try DNSAnswer.parse(bytes)
        } catch {
            throw Failure(description: "\(name): \(error)")
        }
    }

    /// Where to join for a `dns` source: each SRV target in RFC 2782's order at its port (the addresses the server
    /// added for it, else the target resolved), or the A/AAAA records at `port`.
    static func seedAddresses(name: String, type: SeedSource.RecordType, port: Int, server: NodeAddress?) async throws -> [NodeAddress] {
        switch type {
        case .srv:
            let answer = try await query(name, type: 33, server: server)
            var targets: [NodeAddress] = []
            for service in answer.orderedServices {
                let known = answer.addresses[service.target.lowercased()] ?? []
                let hosts = known.isEmpty ? GossipSection.resolve(service.target) : known
                for host in hosts where !targets.contains(NodeAddress(host: host, port: service.port)) {
                    targets.append(NodeAddress(host: host, port: service.port))
                }
            }
            guard !targets.isEmpty else { throw Failure(description: "\(name): no SRV record with a target that resolves") }
            return targets
        case .a, .aaaa:
            guard let server else {
                let addresses = GossipSection.resolve(name, family: type == .a ? AF_INET : AF_INET6)
                guard !addresses.isEmpty else { throw Failure(description: "cannot resolve \(name) (\(type.rawValue))") }
                return addresses.map { NodeAddress(host: $0, port: port) }
            }
            let answer = try await query(name, type: type == .a ? 1 : 28, server: server)
            let addresses = answer.addresses.values.flatMap { $0 }
            guard !addresses.isEmpty else { throw Failure(description: "\(name): no \(type.rawValue) record") }
            return addresses.map { NodeAddress(host: $0, port: port) }
        }
    }
}
