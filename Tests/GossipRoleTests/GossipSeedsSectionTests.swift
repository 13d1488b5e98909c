import Foundation
import Membership
import Plugins
import Testing

@testable import GossipRole

/// `roles.gossip.seeds`: each source as decoded, and each mistake at its line and column.
@Suite struct GossipSeedsSectionTests: GossipSectionParsing {
    @Test func everySourceIsDecodedInOrderAfterJoin() throws {
        let settings = try parse("""
              gossip:
                bind: 127.0.0.1:0
                join: ["10.0.0.1"]
                seeds:
                  - static: ["10.0.0.2:7000", "lb.internal"]
                  - dns: {name: lb.internal, type: AAAA, port: 7947}
                  - dns: {name: lb2.internal}
                  - dns: {name: _outrider._udp.example.com, type: SRV, server: "127.0.0.1:8600"}
                  - file: /var/lib/outrider/seeds.json
                  - s3:
                      endpoint: http://127.0.0.1:9000
                      bucket: seeds
                      key: cluster/seeds.json
                      region: eu-west-1
                      access_key: AK
                      secret_key: SK
                      publish: true
                      publish_period: 30s
                      publish_jitter: 2s
            """)
        var s3 = S3Seeds(endpoint: "http://127.0.0.1:9000", bucket: "seeds", key: "cluster/seeds.json", accessKey: "AK", secretKey: "SK")
        s3.region = "eu-west-1"
        s3.publish = true
        s3.publishPeriod = .seconds(30)
        s3.publishJitter = .seconds(2)
        s3.maximumAge = .seconds(150)
        #expect(settings.seeds == [
            .addresses(["10.0.0.2:7000", "lb.internal"]),
            .dns(name: "lb.internal", type: .aaaa, port: 7947, server: nil),
            .dns(name: "lb2.internal", type: .a, port: 7946, server: nil),
            .dns(name: "_outrider._udp.example.com", type: .srv, port: 7946, server: NodeAddress(host: "127.0.0.1", port: 8600)),
            .file("/var/lib/outrider/seeds.json"),
            .s3(s3),
        ])
        #expect(settings.seedSources.first == .addresses(["10.0.0.1"]))
        #expect(settings.seedSources.count == 7)
    }

    @Test func s3SourcesHaveScrimplbsDefaults() throws {
        let settings = try parse("""
              gossip:
                seeds:
                  - s3: {endpoint: "https://s3.example.com", bucket: b, key: k, access_key: a, secret_key: s}
            """)
        guard case .s3(let s3)? = settings.seeds.first else {
            Issue.record("no s3 source: \(settings.seeds)")
            return
        }
        #expect(s3.publish == false)
        #expect(s3.publishPeriod == .seconds(60))
        #expect(s3.publishJitter == .seconds(5))
        #expect(s3.maximumAge == .seconds(300))
        #expect(s3.region == "us-east-1")
    }

    @Test func mistakesAreReportedWhereTheyAre() {
        let found = problems("""
              gossip:
                seeds:
                  - static: ["10.0.0.1:notaport"]
                  - dns: {name: lb.internal, type: SRV, port: 7946}
                  - dns: {name: lb.internal, type: MX, server: lb.internal}
                  - file: seeds.json
                  - s3: {endpoint: "ftp://x", bucket: "a/b", key: k, access_key: a}
                  - consul: {}
                  - {static: [a], file: /x}
                  - s3: {endpoint: "http://x", bucket: b, key: k, access_key: a, secret_key: s, publish: true, publish_period: 60s, max_age: 10s, regoin: x}
            """)
        let expected = [
            "g.yaml:4:17: roles.gossip.seeds[0].static: '10.0.0.1:notaport' is not host, host:port or [v6]:port",
            "g.yaml:5:51: roles.gossip.seeds[1].dns.port: SRV records give the ports; remove port",
            "g.yaml:6:40: expected one of A, AAAA, SRV, found 'MX'",
            "g.yaml:6:52: roles.gossip.seeds[2].dns.server must be an IP address with an optional port (10.0.0.2, 10.0.0.2:8600, fd00::2, [fd00::2]:8600), found 'lb.internal'",
            "g.yaml:7:15: roles.gossip.seeds[3].file must be an absolute path, found 'seeds.json'",
            "g.yaml:8:13: roles.gossip.seeds[4].s3 is missing required key 'secret_key'",
            "g.yaml:8:24: roles.gossip.seeds[4].s3.endpoint: S3: endpoint ftp://x is not an http:// or https:// URL",
            "g.yaml:8:43: roles.gossip.seeds[4].s3.bucket 'a/b' is not a bucket name",
            "g.yaml:9:9: roles.gossip.seeds[5]: unknown seed source 'consul' (known: static, dns, file, s3)",
            "g.yaml:10:9: roles.gossip.seeds[6] must be a mapping with one of static, dns, file, s3",
            "g.yaml:11:130: roles.gossip.seeds[7].s3.max_age must be at least publish_period + publish_jitter",
            "g.yaml:11:135: unknown key 'regoin' in roles.gossip.seeds[7].s3",
        ]
        for line in expected {
            #expect(found.contains { $0.hasPrefix(line) }, "missing \(line) in:\n\(found.joined(separator: "\n"))")
        }
        #expect(found.count == expected.count, "\(found.joined(separator: "\n"))")
    }

    @Test func aDNSServerIsAnIPv4OrIPv6Address() {
        #expect(GossipSection.dnsServer("10.0.0.2") == NodeAddress(host: "10.0.0.2", port: 53))
        #expect(GossipSection.dnsServer("10.0.0.2:8600") == NodeAddress(host: "10.0.0.2", port: 8600))
        #expect(GossipSection.dnsServer("::1") == NodeAddress(host: "::1", port: 53))
        #expect(GossipSection.dnsServer("fd00::53") == NodeAddress(host: "fd00::53", port: 53))
        #expect(GossipSection.dnsServer("[::1]:5353") == NodeAddress(host: "::1", port: 5353))
        #expect(GossipSection.dnsServer("[fd00::53]") == NodeAddress(host: "fd00::53", port: 53))
        for wrong in ["lb.internal", "lb.internal:53", "[::1]x", "[::1]:", "[::1]:0", "[::1]:65536", "[10.0.0.2]:53", "fd00::zz", "10.0.0.2:0", "[::1", "::1:53:", "fe80::1%eth0", ""] {
            #expect(GossipSection.dnsServer(wrong) == nil, "\(wrong)")
        }
    }

    @Test func seedsMustBeAList() {
        let found = problems("""
              gossip:
                seeds: {static: [a]}
            """)
        #expect(found.first?.hasPrefix("g.yaml:3:12: roles.gossip.seeds must be a list") == true, "\(found)")
    }
}
