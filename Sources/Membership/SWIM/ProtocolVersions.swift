/// The six protocol version numbers a member announces in its alive message (memberlist `alive.Vsn`): the
/// memberlist protocol's minimum, maximum and current version, then the delegate's (serf's) three.
public struct ProtocolVersions: Sendable, Hashable {
    public var protocolMin: UInt8
    public var protocolMax: UInt8
    public var protocolCurrent: UInt8
    public var delegateMin: UInt8
    public var delegateMax: UInt8
    public var delegateCurrent: UInt8

    public init(protocolMin: UInt8, protocolMax: UInt8, protocolCurrent: UInt8, delegateMin: UInt8, delegateMax: UInt8, delegateCurrent: UInt8) {
        self.protocolMin = protocolMin
        self.protocolMax = protocolMax
        self.protocolCurrent = protocolCurrent
        self.delegateMin = delegateMin
        self.delegateMax = delegateMax
        self.delegateCurrent = delegateCurrent
    }

    /// memberlist 0.5 speaks protocol 2 and understands 1 through 5 (`memberlist.go` `ProtocolVersionMin/Max`);
    /// serf 0.9 speaks delegate protocol 5 and understands 2 through 5 (`serf/config.go` `ProtocolVersionMap`).
    public static let outrider = ProtocolVersions(protocolMin: 1, protocolMax: 5, protocolCurrent: 2, delegateMin: 2, delegateMax: 5, delegateCurrent: 5)

    public init?(_ vsn: [UInt8]) {
        guard vsn.count >= 6 else { return nil }
        self.init(protocolMin: vsn[0], protocolMax: vsn[1], protocolCurrent: vsn[2], delegateMin: vsn[3], delegateMax: vsn[4], delegateCurrent: vsn[5])
    }

    public var bytes: [UInt8] { [protocolMin, protocolMax, protocolCurrent, delegateMin, delegateMax, delegateCurrent] }
}
