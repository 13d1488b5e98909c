import Membership
import XCTest

final class MembershipViewTests: XCTestCase {
    struct FixedView: MembershipView {
        var all: [Member]
        var localMember: Member { all[0] }
        var members: [Member] { all }
        func changes() -> AsyncStream<MembershipChange> { AsyncStream { $0.finish() } }
    }

    func testMembersTaggedWithAnApplication() async {
        let view = FixedView(all: [
            Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive, tags: ["role": "lb"]),
            Member(name: "b1", host: "127.0.0.2", port: 7946, status: .alive, tags: ["apps": "web,api"]),
            Member(name: "b2", host: "127.0.0.3", port: 7946, status: .suspect, tags: ["apps": "api"]),
            Member(name: "b3", host: "127.0.0.4", port: 7946, status: .dead, tags: ["apps": "api"]),
            Member(name: "b4", host: "127.0.0.5", port: 7946, status: .alive, tags: ["apps": "apis"]),
        ])
        let serving = await view.members(taggedWith: "apps", value: "api").map(\.name)
        XCTAssertEqual(serving, ["b1", "b2"])
    }

    func testReachability() {
        XCTAssertTrue(Member(name: "a", host: "h", port: 1, status: .alive).isReachable)
        XCTAssertTrue(Member(name: "a", host: "h", port: 1, status: .suspect).isReachable)
        XCTAssertFalse(Member(name: "a", host: "h", port: 1, status: .dead).isReachable)
        XCTAssertFalse(Member(name: "a", host: "h", port: 1, status: .left).isReachable)
    }
}
