import Foundation
import Membership

/// One of `roles.gossip.seeds`: where a starting member looks for members to join (the issue's "Seed sources";
/// scrimplb's seed providers). Each is asked in turn at every attempt, until a join through one succeeds.
public enum SeedSource: Sendable, Equatable, CustomStringConvertible {
    /// `static: [host[:port], ...]`, as `join`: names resolved at each attempt, every A and AAAA record tried.
    case addresses([String])
    /// `dns: {name, type, port, server}`: the name's A or AAAA records at `port`, or its SRV records (RFC 2782)
    /// with their targets and ports, looked up at each attempt; `server` asks that DNS server instead of the
    /// system's (Consul's DNS interface, for one).
    case dns(name: String, type: RecordType, port: Int, server: NodeAddress?)
    /// `file: PATH`: scrimplb's seed document (``SeedList``), re-read at each attempt.
    case file(String)
    /// `s3: {...}`: the seed document in an S3 object, which load balancers publish to.
    case s3(S3Seeds)

    public enum RecordType: String, Sendable, Equatable, CaseIterable {
        case a = "A"
        case aaaa = "AAAA"
        case srv = "SRV"
    }

    public var description: String {
        switch self {
        case .addresses(let entries): "static \(entries.joined(separator: ", "))"
        case .dns(let name, let type, let port, let server):
            "dns \(name) \(type.rawValue)\(type == .srv ? "" : " port \(port)")\(server.map { " at \($0)" } ?? "")"
        case .file(let path): "file \(path)"
        case .s3(let s3): "s3 \(s3.endpoint)/\(s3.bucket)/\(s3.key)\(s3.publish ? " (publishing)" : "")"
        }
    }
}

/// `seeds: - s3: {...}`: the S3 object of the seed document, and whether this member publishes its own address
/// there (a load balancer does; see docs/discovery.md).
public struct S3Seeds: Sendable, Equatable {
    public var endpoint: String
    public var bucket: String
    public var key: String
    public var region = "us-east-1"
    public var accessKey: String
    public var secretKey: String
    /// PEM CA certificates to verify an https endpoint with instead of the system roots.
    public var ca: String?
    /// Write this member's advertised address into the object every `publishPeriod` plus up to `publishJitter`.
    public var publish = false
    /// scrimplb's defaults: 60 s and 5 s.
    public var publishPeriod: Duration = .seconds(60)
    public var publishJitter: Duration = .seconds(5)
    /// Another publisher's entry older than this is dropped when publishing (default five periods).
    public var maximumAge: Duration = .seconds(300)

    public init(endpoint: String, bucket: String, key: String, accessKey: String, secretKey: String) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.key = key
        self.accessKey = accessKey
        self.secretKey = secretKey
    }
}
