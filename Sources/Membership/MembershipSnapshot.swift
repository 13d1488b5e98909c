/// The cluster as one moment of a ``LiveMembership`` saw it: every member known, this host's own entry, and a
/// version that orders this state among the others the view published.
///
/// A subscriber that falls behind is handed only the newest snapshot (see ``MembershipSubscription``), so what it
/// missed is not a queue of events but the difference between the last snapshot it saw and this one:
/// ``changes(since:)``.
public struct MembershipSnapshot: Sendable, Hashable {
    /// Grows by one with each change of state, and only then: two snapshots of one view with the same version hold
    /// the same members.
    public let version: UInt64
    /// This host's name; its entry is always among the members.
    public let localName: String
    private let byName: [String: Member]

    /// The first state of a view: only this host.
    public init(localMember: Member) {
        self.version = 1
        self.localName = localMember.name
        self.byName = [localMember.name: localMember]
    }

    private init(version: UInt64, localName: String, byName: [String: Member]) {
        self.version = version
        self.localName = localName
        self.byName = byName
    }

    /// This host's own entry.
    public var localMember: Member { byName[localName]! }

    /// Every member known, this host included, in name order so that documents and pools built from them read the
    /// same from one snapshot to the next.
    public var members: [Member] { byName.values.sorted { $0.name < $1.name } }

    public var count: Int { byName.count }

    public func member(named name: String) -> Member? { byName[name] }

    /// Reachable members carrying `tag` with `value` among its comma-separated values, such as the backends serving
    /// one application (scrimplb's `apps=web,api` tag).
    public func members(taggedWith tag: String, value: String) -> [Member] {
        members.filter { $0.isReachable && $0.tags[tag].map { $0.split(separator: ",").contains(Substring(value)) } == true }
    }

    /// The state after `changes`, one version later; `self` when they change nothing, so a repeated announcement
    /// wakes no subscriber.
    public func applying(_ changes: some Sequence<MembershipChange>) -> MembershipSnapshot {
        var updated = byName
        for change in changes {
            switch change {
            case .joined(let member), .updated(let member):
                updated[member.name] = member
            case .removed(let member):
                if member.name != localName { updated[member.name] = nil }
            }
        }
        guard updated != byName else { return self }
        return MembershipSnapshot(version: version + 1, localName: localName, byName: updated)
    }

    /// What changed from `older` to this snapshot (joins and updates in name order, then removals): applying the
    /// result to `older` gives this snapshot's members. This is how a subscriber that was handed only the newest state learns what it missed.
    public func changes(since older: MembershipSnapshot) -> [MembershipChange] {
        var changes: [MembershipChange] = []
        for member in members {
            switch older.byName[member.name] {
            case nil: changes.append(.joined(member))
            case let previous? where previous != member: changes.append(.updated(member))
            default: break
            }
        }
        for member in older.members where byName[member.name] == nil {
            changes.append(.removed(member))
        }
        return changes
    }
}
