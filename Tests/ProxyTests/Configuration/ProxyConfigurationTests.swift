import Testing

@testable import Proxy

@Suite struct ProxyConfigurationTests {
    private func resolve(_ sites: [ProxyConfiguration.Site]) throws -> [ResolvedSite] {
        try ProxyConfiguration(sites: sites).resolvedSites()
    }

    @Test func expandsPoolsAndNamesSites() throws {
        let sites = try resolve([
            .init(pools: ["http://a{1...2}:9000", "http://b{1...2}:9000"]),
            .init(name: "dr", pools: ["http://c:9000"]),
        ])
        #expect(sites.map(\.name) == ["site1", "dr"])
        #expect(sites[0].backends.map(\.description) == [
            "http://a1:9000", "http://a2:9000", "http://b1:9000", "http://b2:9000",
        ])
        #expect(sites[1].backends == [BackendEndpoint(scheme: .http, host: "c", port: 9000)])
    }

    @Test func defaultPortsAndIPv6() throws {
        let sites = try resolve([.init(pools: ["https://[::1]", "https://host/"])])
        #expect(sites[0].backends == [
            BackendEndpoint(scheme: .https, host: "::1", port: 443),
            BackendEndpoint(scheme: .https, host: "host", port: 443),
        ])
        #expect(sites[0].backends[0].description == "https://[::1]:443")
    }

    @Test func poolListExpandsOnlyWhenEveryPoolHasAPattern() {
        #expect(
            throws: ProxyConfigurationError.invalidPool(
                site: "site1",
                pool: "http://a{1...2}:9000",
                reason: "ranges are expanded only when every pool of the site has one"
            )
        ) {
            try resolve([.init(pools: ["http://a{1...2}:9000", "http://b:9000"])])
        }
    }

    @Test func leftoverBracesAreAnErrorNamingThePool() {
        #expect(throws: ProxyConfigurationError.invalidPool(site: "s", pool: "http://a{1..2}", reason: "invalid range {1..2}")) {
            try resolve([.init(name: "s", pools: ["http://a{1..2}"])])
        }
    }

    @Test func oneSchemePerSite() {
        #expect(throws: ProxyConfigurationError.mixedSchemes(site: "site1")) {
            try resolve([.init(pools: ["http://a:1", "https://b:2"])])
        }
    }

    @Test func invalidURLs() {
        #expect(throws: ProxyConfigurationError.invalidPool(site: "site1", pool: "ftp://a", reason: "scheme must be http or https")) {
            try resolve([.init(pools: ["ftp://a"])])
        }
        #expect(throws: ProxyConfigurationError.invalidPool(site: "site1", pool: "a:9000", reason: "missing scheme")) {
            try resolve([.init(pools: ["a:9000"])])
        }
        #expect(throws: ProxyConfigurationError.invalidPool(site: "site1", pool: "http://a:99999", reason: "invalid port")) {
            try resolve([.init(pools: ["http://a:99999"])])
        }
        #expect(throws: ProxyConfigurationError.invalidPool(site: "site1", pool: "http://a:1/x", reason: "a path is not supported")) {
            try resolve([.init(pools: ["http://a:1/x"])])
        }
        #expect(
            throws: ProxyConfigurationError.invalidPool(site: "site1", pool: "http://a{1...2}:x", reason: "http://a1:x: invalid port")
        ) {
            try resolve([.init(pools: ["http://a{1...2}:x"])])
        }
    }

    @Test func structuralErrors() {
        #expect(throws: ProxyConfigurationError.noSites) { try resolve([]) }
        #expect(throws: ProxyConfigurationError.emptySite(site: "site1")) { try resolve([.init(pools: [])]) }
        #expect(throws: ProxyConfigurationError.duplicateSiteName("x")) {
            try resolve([.init(name: "x", pools: ["http://a"]), .init(name: "x", pools: ["http://b"])])
        }
    }

    @Test func duplicateBackendsKeptOnce() throws {
        let sites = try resolve([.init(pools: ["http://a:1", "http://a:1"])])
        #expect(sites[0].backends.count == 1)
    }

    @Test func validateChecksOtherSettings() {
        var configuration = ProxyConfiguration(sites: [.init(pools: ["http://a"])])
        configuration.health.interval = .zero
        #expect(throws: ProxyConfigurationError.invalidValue(field: "health.interval", reason: "must be positive")) {
            try configuration.validate()
        }
        configuration.health.interval = .seconds(1)
        configuration.listeners = []
        #expect(throws: ProxyConfigurationError.noListeners) { try configuration.validate() }
    }
}
