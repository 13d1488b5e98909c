import Foundation
import Membership
import Plugins
import Testing

@testable import GossipRole

/// `roles.gossip.applications` and `applications_dir`: what a backend announces, checked where it is written.
@Suite struct GossipApplicationsSectionTests: GossipSectionParsing {
    @Test func applicationsAreAnnouncedInTheAppsTag() throws {
        let settings = try parse("""
              gossip:
                bind: 127.0.0.1:0
                tags: {dc: eu1}
                applications:
                  - {name: web, listen_port: 443, application_port: 8080, protocol: http, domains: [example.com, www.example.com]}
                  - {name: api, listen_port: 8443, application_port: 9000, domains: [api.example.com]}
            """)
        #expect(settings.applications.map(\.name) == ["web", "api"])
        #expect(settings.tags == [
            "dc": "eu1", "role": "backend",
            "apps": "web:443>8080/http=example.com,www.example.com;api:8443>9000/http=api.example.com",
        ])
        #expect(try ApplicationTag.decode(settings.tags["apps"]!) == settings.applications)
    }

    @Test func generateIsReadWithAndWithoutTLS() throws {
        let plain = try parse("""
              gossip:
                generate:
                  format: nginx
                  target: /etc/nginx/conf.d/outrider-upstreams.conf
                  check: [nginx, -t]
                  reload: [nginx, -s, reload]
            """)
        #expect(plain.generate == .init(
            configuration: LoadBalancerConfiguration(format: .nginx),
            file: LoadBalancerFile(target: "/etc/nginx/conf.d/outrider-upstreams.conf", check: ["nginx", "-t"], reload: ["nginx", "-s", "reload"]),
            debounce: .seconds(2)))
        let tls = try parse("""
              gossip:
                generate: {format: haproxy, target: /etc/haproxy/outrider.cfg, debounce: 500ms, tls: {chain: /etc/ssl/c.pem, key: /etc/ssl/k.pem}}
            """)
        #expect(tls.generate?.configuration == LoadBalancerConfiguration(format: .haproxy, tls: .init(chain: "/etc/ssl/c.pem", key: "/etc/ssl/k.pem")))
        #expect(tls.generate?.debounce == .milliseconds(500))
        #expect(problems("""
              gossip:
                generate: {format: apache, target: relative.conf, tls: {chain: /c.pem}}
            """) == [
            "g.yaml:3:24: expected one of nginx, haproxy, found 'apache'",
            "g.yaml:3:40: roles.gossip.generate.target must be an absolute path",
            "g.yaml:3:60: roles.gossip.generate.tls is missing required key 'key'",
        ])
    }

    @Test func scrimplbsRulesAreReportedAtTheApplication() {
        #expect(problems("""
              gossip:
                bind: 127.0.0.1:0
                applications:
                  - {name: web, listen_port: 80, application_port: 8080, domains: [example.com]}
                  - {name: api, listen_port: 443, application_port: 9000, domains: []}
                  - {name: web, listen_port: 444, application_port: 9001, domains: [a.example.com], protocol: ftp}
            """) == [
                "g.yaml:5:9: roles.gossip.applications[0]: listen_port 80 is refused: load balancers keep port 80 for their redirect to HTTPS",
                "g.yaml:6:9: roles.gossip.applications[1]: domains needs at least one domain",
                "g.yaml:7:99: expected one of http, https, tcp, found 'ftp'",
            ])
    }

    @Test func applicationsThatCannotFitAreAConfigurationError() {
        let domains = (1...40).map { "\"host\($0).example.com\"" }.joined(separator: ", ")
        let found = problems("""
              gossip:
                bind: 127.0.0.1:0
                applications:
                  - {name: web, listen_port: 443, application_port: 8080, domains: [\(domains)]}
            """)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("g.yaml:5:7: roles.gossip.applications: with the tags they do not fit memberlist's 512-byte metadata limit") == true, "\(found)")
    }

    @Test func applicationsComeFromTheirDirectoryToo() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-apps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "name: b\nlisten_port: 443\napplication_port: 2\ndomains: [b.example.com]\n".write(to: directory.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        try "name: a\nlisten_port: 443\napplication_port: 1\ndomains: [a.example.com]\n".write(to: directory.appendingPathComponent("a.yml"), atomically: true, encoding: .utf8)
        try "not an application".write(to: directory.appendingPathComponent("README"), atomically: true, encoding: .utf8)
        let settings = try parse("""
              gossip:
                bind: 127.0.0.1:0
                applications_dir: \(directory.path)
            """)
        #expect(settings.applications.map(\.name) == ["a", "b"])
        try "name: c\nlisten_port: 80\napplication_port: 1\ndomains: [c.example.com]\nextra: 1\n".write(to: directory.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        let found = problems("""
              gossip:
                bind: 127.0.0.1:0
                applications_dir: \(directory.path)
            """)
        let file = directory.appendingPathComponent("c.yaml").path
        #expect(found.contains { $0.hasPrefix("\(file):5:1: unknown key 'extra'") }, "\(found)")
        #expect(found.contains("\(file):1:1: application file: listen_port 80 is refused: load balancers keep port 80 for their redirect to HTTPS"), "\(found)")
    }
}
