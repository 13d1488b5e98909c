/// The six protocol bytes a node announces in `Vsn` (memberlist `net.go`, `alive.Vsn`; `state.go`, order pmin,
/// pmax, pcur, dmin, dmax, dcur). memberlist understands protocol versions 1 through 5 and speaks 2 by default
/// (`ProtocolVersion2Compatible`). serf 0.9 announces delegate versions 2…5 (serf `serf/serf.go`,
/// `ProtocolVersionMin/Max`), current 5 for the agent (`cmd/serf/command/agent/config.go`).
public struct ProtocolVersions: Sendable, Hashable {
    public var protocolMin: UInt8
    public var protocolMax: UInt8
    public var protocolCurrent: UInt8
    public var delegateMin: UInt8
    public var delegateMax: UInt8
    public var delegateCurrent: UInt8

    public init(
        protocolMin: UInt8, protocolMax: UInt8, protocolCurrent: UInt8,
        delegateMin: UInt8, delegateMax: UInt8, delegateCurrent: UInt8
    ) {
        self.protocolMin = protocolMin
        self.protocolMax = protocolMax
        self.protocolCurrent = protocolCurrent
        self.delegateMin = delegateMin
        self.delegateMax = delegateMax
        self.delegateCurrent = delegateCurrent
    }

    /// Reads `Vsn`; memberlist ignores versions it cannot read (fewer than six bytes), so this is nil then.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 6 else { return nil }
        self.init(
            protocolMin: bytes[0], protocolMax: bytes[1], protocolCurrent: bytes[2],
            delegateMin: bytes[3], delegateMax: bytes[4], delegateCurrent: bytes[5])
    }

    public var bytes: [UInt8] {
        [protocolMin, protocolMax, protocolCurrent, delegateMin, delegateMax, delegateCurrent]
    }
}
