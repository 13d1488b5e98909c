import Membership
import NIOCore
import Plugins
import Testing

@testable import GossipRole

/// `reconnect_timeout`, `tombstone_timeout` and `reconnect_interval`: serf's defaults, overrides, and mistakes at
/// their line and column.
@Suite struct GossipDepartedSectionTests: GossipSectionParsing {
    @Test func serfsDefaults() throws {
        let settings = try parse("""
              gossip:
                bind: 127.0.0.1:0
            """)
        #expect(settings.departures == .serf)
        #expect(settings.departures.reconnectTimeout == .hours(24))
    }

    @Test func overrides() throws {
        let settings = try parse("""
              gossip:
                bind: 127.0.0.1:0
                reconnect_timeout: 72h
                tombstone_timeout: 30m
                reconnect_interval: 10s
            """)
        #expect(settings.departures.reconnectTimeout == .hours(72))
        #expect(settings.departures.tombstoneTimeout == .minutes(30))
        #expect(settings.departures.reconnectInterval == .seconds(10))
    }

    @Test func badValuesAreReportedWhereTheyAre() {
        let found = problems("""
              gossip:
                bind: 127.0.0.1:0
                reconnect_timeout: soon
                reconnect_interval: 1ms
            """)
        #expect(found.count == 2, "\(found)")
        #expect(found.contains { $0.hasPrefix("g.yaml:4:24: invalid duration") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("g.yaml:5:25:") && $0.contains("reconnect_interval") }, "\(found)")
    }
}
