extension ProtocolVersions {
    /// What outrider announces: memberlist's protocol range 1 through 5, speaking 2 (memberlist `memberlist.go`
    /// `ProtocolVersionMin/Max`, `config.go` `ProtocolVersion2Compatible`), and serf's delegate range 2 through 5,
    /// speaking 5 as the serf 0.9 agent does (serf `serf/serf.go` `ProtocolVersionMin/Max`).
    public static let outrider = ProtocolVersions(protocolMin: 1, protocolMax: 5, protocolCurrent: 2, delegateMin: 2, delegateMax: 5, delegateCurrent: 5)
}
