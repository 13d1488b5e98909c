import Foundation
import Membership
import Testing

@Suite struct LoadBalancerConfigurationTests {
    func member(_ name: String, _ host: String, _ applications: [Application], status: Member.Status = .alive) -> MembershipChange {
        .joined(Member(name: name, host: host, port: 7946, status: status, tags: [ApplicationTag.key: ApplicationTag.encode(applications)]))
    }

    var snapshot: MembershipSnapshot {
        let web = Application(name: "web", listenPort: 443, applicationPort: 8080, transport: .http, domains: ["example.com", "*.example.com"])
        let web2 = Application(name: "web", listenPort: 8443, applicationPort: 8080, transport: .http, domains: ["www.example.org"])
        let api = Application(name: "api", listenPort: 443, applicationPort: 9000, transport: .https, domains: ["api.example.net"])
        let idle = Application(name: "idle", listenPort: 8443, applicationPort: 1, transport: .http, domains: ["idle.example.com"])
        let db = Application(name: "db", listenPort: 5432, applicationPort: 5433, transport: .tcp, domains: ["db.internal"])
        return MembershipSnapshot(localMember: Member(name: "lb", host: "10.0.0.1", port: 7946, status: .alive)).applying([
            member("b1", "10.0.0.2", [web, api]),
            member("b2", "10.0.0.3", [web2, db]),
            member("b3", "10.0.0.4", [idle], status: .dead),
            member("b4", "10.0.0.5", [Application(name: "idle", listenPort: 8443, applicationPort: 1, transport: .http, domains: ["idle.example.com"])], status: .left),
        ])
    }

    @Test func membersAnnouncingOneApplicationAreMerged() {
        let web = snapshot.routedApplications.first { $0.name == "web" }
        #expect(web?.listenPorts == [443, 8443])
        #expect(web?.domains == ["example.com", "*.example.com", "www.example.org"])
        #expect(web?.endpoints.map(\.member) == ["b1", "b2"])
        #expect(snapshot.routedApplications.map(\.name) == ["api", "db", "web"], "members that failed or left announce nothing")
    }

    @Test func nginxGolden() {
        let text = LoadBalancerConfiguration(format: .nginx).render(snapshot.routedApplications)
        #expect(text == """
            # Written by outrider from the gossip cluster's announced applications; changes here are overwritten.

            upstream outrider_api {
                server 10.0.0.2:9000;
                keepalive 16;
            }

            server {
                listen 443;
                server_name api.example.net;
                location / {
                    proxy_pass https://outrider_api;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                }
            }

            # db: a tcp application; nginx serves it from a stream block, not generated here.

            upstream outrider_web {
                server 10.0.0.2:8080;
                server 10.0.0.3:8080;
                keepalive 16;
            }

            server {
                listen 443;
                server_name example.com *.example.com www.example.org;
                location / {
                    proxy_pass http://outrider_web;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                }
            }

            server {
                listen 8443;
                server_name example.com *.example.com www.example.org;
                location / {
                    proxy_pass http://outrider_web;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                }
            }

            server {
                listen 80;
                server_name _;
                return 301 https://$host$request_uri;
            }

            """)
    }

    @Test func haproxyGolden() {
        let text = LoadBalancerConfiguration(format: .haproxy).render(snapshot.routedApplications)
        #expect(text == """
            # Written by outrider from the gossip cluster's announced applications; changes here are overwritten.

            frontend outrider_port_443
                bind :443
                mode http
                option forwardfor
                acl outrider_api_host hdr(host),field(1,:) -i api.example.net
                use_backend outrider_api if outrider_api_host
                acl outrider_web_host hdr(host),field(1,:) -i example.com www.example.org
                acl outrider_web_host hdr(host),field(1,:) -m end -i .example.com
                use_backend outrider_web if outrider_web_host

            frontend outrider_port_5432
                bind :5432
                mode tcp
                default_backend outrider_db

            frontend outrider_port_8443
                bind :8443
                mode http
                option forwardfor
                acl outrider_web_host hdr(host),field(1,:) -i example.com www.example.org
                acl outrider_web_host hdr(host),field(1,:) -m end -i .example.com
                use_backend outrider_web if outrider_web_host

            backend outrider_api
                mode http
                balance roundrobin
                server b1 10.0.0.2:9000 check ssl verify none

            backend outrider_db
                mode tcp
                balance roundrobin
                server b2 10.0.0.3:5433 check

            backend outrider_web
                mode http
                balance roundrobin
                server b1 10.0.0.2:8080 check
                server b2 10.0.0.3:8080 check

            frontend outrider_port_80
                bind :80
                mode http
                http-request redirect scheme https code 301

            """)
    }

    @Test func anApplicationWithoutBackendsAnswers503() {
        let lonely = MembershipSnapshot(localMember: Member(name: "lb", host: "10.0.0.1", port: 7946, status: .alive))
        let routed = [RoutedApplication(name: "web", transport: .http, listenPorts: [8443], domains: ["a.example"], endpoints: [])]
        let nginx = LoadBalancerConfiguration(format: .nginx).render(routed)
        #expect(nginx.contains("return 503;") && !nginx.contains("upstream"))
        #expect(!nginx.contains("listen 80;"), "no redirect without an application on 443")
        #expect(LoadBalancerConfiguration(format: .nginx).render(lonely.routedApplications) == "# Written by outrider from the gossip cluster's announced applications; changes here are overwritten.\n")
        #expect(LoadBalancerConfiguration(format: .haproxy).render(routed).contains("backend outrider_web\n    mode http\n    balance roundrobin\n"))
    }

    @Test func anApplicationNoLongerAnnouncedIsKeptWithoutBackends() {
        let endpoint = ApplicationEndpoint(member: "b1", host: "10.0.0.2", port: 8080, transport: .http)
        let web = RoutedApplication(name: "web", transport: .http, listenPorts: [8443], domains: ["a.example"], endpoints: [endpoint])
        let api = RoutedApplication(name: "api", transport: .http, listenPorts: [9443], domains: ["api.example"], endpoints: [endpoint])
        var moved = web
        moved.listenPorts = [8444]
        #expect(RoutedApplication.keeping([web, api], in: [moved]) == [
            RoutedApplication(name: "api", transport: .http, listenPorts: [9443], domains: ["api.example"], endpoints: []), moved,
        ])
        #expect(RoutedApplication.keeping([], in: [web]) == [web])
        #expect(RoutedApplication.keeping([web], in: []).map(\.endpoints) == [[]])
    }

    // MARK: The real nginx and HAProxy accept what is generated

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("outrider-lb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A self-signed certificate, so the TLS variants are checked with files that exist.
    func certificate(in directory: URL) throws -> LoadBalancerConfiguration.TLS {
        let chain = directory.appendingPathComponent("chain.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let made = try run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=example.com",
                            "-days", "1", "-keyout", key, "-out", chain])
        #expect(made.status == 0, "\(made.output)")
        // HAProxy reads the key from the `crt` file when it holds both.
        let both = try String(contentsOfFile: chain, encoding: .utf8) + String(contentsOfFile: key, encoding: .utf8)
        try both.write(toFile: chain, atomically: true, encoding: .utf8)
        return .init(chain: chain, key: key)
    }

    /// The snapshot's applications and one whose backends all left (kept, answering 503).
    var everyKind: [RoutedApplication] {
        RoutedApplication.keeping(
            [RoutedApplication(name: "gone", transport: .http, listenPorts: [8443], domains: ["gone.example.com"], endpoints: [])],
            in: snapshot.routedApplications)
    }

    @Test func nginxAcceptsTheGeneratedFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try certificate(in: directory)
        for configuration in [LoadBalancerConfiguration(format: .nginx), LoadBalancerConfiguration(format: .nginx, tls: tls)] {
            let generated = directory.appendingPathComponent("outrider-upstreams.conf")
            try configuration.render(everyKind).write(to: generated, atomically: true, encoding: .utf8)
            let main = directory.appendingPathComponent("nginx.conf")
            try """
                pid \(directory.path)/nginx.pid;
                error_log \(directory.path)/error.log;
                events {}
                http { access_log off; include \(generated.path); }

                """.write(to: main, atomically: true, encoding: .utf8)
            let checked = try run(["/usr/sbin/nginx", "-t", "-q", "-e", "\(directory.path)/error.log", "-p", directory.path, "-c", main.path])
            #expect(checked.status == 0, "nginx -t: \(checked.output)")
        }
    }

    @Test func haproxyAcceptsTheGeneratedFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try certificate(in: directory)
        let main = directory.appendingPathComponent("haproxy.cfg")
        try """
            global
                maxconn 100
            defaults
                timeout connect 5s
                timeout client 30s
                timeout server 30s

            """.write(to: main, atomically: true, encoding: .utf8)
        for configuration in [LoadBalancerConfiguration(format: .haproxy), LoadBalancerConfiguration(format: .haproxy, tls: tls)] {
            let generated = directory.appendingPathComponent("outrider.cfg")
            try configuration.render(everyKind).write(to: generated, atomically: true, encoding: .utf8)
            let checked = try run(["/usr/sbin/haproxy", "-c", "-q", "-f", main.path, "-f", generated.path])
            #expect(checked.status == 0, "haproxy -c: \(checked.output)")
        }
    }
}
