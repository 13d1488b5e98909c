import Foundation
import NIOCore

/// The failure detector's and the disseminator's timings, with memberlist's three presets (`config.go`:
/// `DefaultLANConfig`, `DefaultWANConfig`, `DefaultLocalConfig`).
public struct SWIMConfiguration: Sendable, Hashable {
    public enum Profile: String, Sendable, Hashable, CaseIterable {
        case lan, wan, local
    }

    public var probeInterval: TimeAmount = .seconds(1)
    public var probeTimeout: TimeAmount = .milliseconds(500)
    /// Members asked to probe a member that missed a direct ack.
    public var indirectChecks: Int = 3
    /// A suspicion lasts `suspicionMult * max(1, log10(n)) * probeInterval` at least ...
    public var suspicionMult: Int = 4
    /// ... and at most this many times that.
    public var suspicionMaxTimeoutMult: Int = 6
    public var gossipInterval: TimeAmount = .milliseconds(200)
    public var gossipNodes: Int = 3
    /// How long dead members are still gossiped to (and kept) before they are reaped.
    public var gossipToTheDeadTime: TimeAmount = .seconds(30)
    /// A broadcast is sent `retransmitMult * ceil(log10(n + 1))` times.
    public var retransmitMult: Int = 4
    public var pushPullInterval: TimeAmount = .seconds(30)
    public var awarenessMaxMultiplier: Int = 8
    /// How long a stream (push-pull, TCP fallback ping) may take.
    public var tcpTimeout: TimeAmount = .seconds(10)
    /// How long after death a member may come back under its name with another address (memberlist's
    /// `DeadNodeReclaimTime`); before, such an alive is a name conflict and refused.
    public var deadNodeReclaimTime: TimeAmount = .zero
    /// Payload room in one UDP packet (memberlist `UDPBufferSize`).
    public var packetSize: Int = 1400

    public init() {}

    public init(profile: Profile) {
        self.init()
        switch profile {
        case .lan:
            break
        case .wan:
            tcpTimeout = .seconds(30)
            suspicionMult = 6
            pushPullInterval = .seconds(60)
            probeTimeout = .seconds(3)
            probeInterval = .seconds(5)
            gossipNodes = 4
            gossipInterval = .milliseconds(500)
            gossipToTheDeadTime = .seconds(60)
        case .local:
            tcpTimeout = .seconds(1)
            indirectChecks = 1
            retransmitMult = 2
            suspicionMult = 3
            pushPullInterval = .seconds(15)
            probeTimeout = .milliseconds(200)
            probeInterval = .seconds(1)
            gossipInterval = .milliseconds(100)
            gossipToTheDeadTime = .seconds(15)
        }
    }

    /// memberlist `util.go` `suspicionTimeout`: the minimum suspicion for a cluster of `members`.
    public func suspicionTimeout(members: Int) -> TimeAmount {
        let scale = max(1.0, log10(max(1.0, Double(members))))
        return .nanoseconds(Int64(Double(suspicionMult) * (scale * 1000).rounded(.towardZero) * Double(probeInterval.nanoseconds) / 1000))
    }

    /// memberlist `util.go` `retransmitLimit`.
    public func retransmitLimit(members: Int) -> Int {
        retransmitMult * Int(ceil(log10(Double(members + 1))))
    }

    /// memberlist `util.go` `pushPullScale`: beyond 32 members the push-pull interval doubles with each doubling.
    public func pushPullInterval(members: Int) -> TimeAmount {
        guard members > 32 else { return pushPullInterval }
        let multiplier = ceil(log2(Double(members)) - log2(32)) + 1
        return pushPullInterval * Int64(multiplier)
    }
}
