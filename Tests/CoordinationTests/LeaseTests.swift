import Coordination
import XCTest

final class LeaseTests: XCTestCase {
    let start = ContinuousClock.now

    func testFreeLeaseIsGrantedAndRenewedWithTheSameToken() {
        var lease = Lease()
        XCTAssertEqual(lease.acquire("a", for: .seconds(10), at: start), .granted(token: 1))
        XCTAssertEqual(lease.acquire("a", for: .seconds(10), at: start + .seconds(5)), .granted(token: 1))
        XCTAssertEqual(lease.holder(at: start + .seconds(14)), "a", "renewal extends the lease")
    }

    func testHeldLeaseIsRefusedUntilItExpires() {
        var lease = Lease()
        _ = lease.acquire("a", for: .seconds(10), at: start)
        XCTAssertEqual(lease.acquire("b", for: .seconds(10), at: start + .seconds(9)), .held(by: "a"))
        XCTAssertNil(lease.holder(at: start + .seconds(10)))
        XCTAssertEqual(lease.acquire("b", for: .seconds(10), at: start + .seconds(10)), .granted(token: 2))
    }

    func testReleaseFreesTheLeaseAndTheNextHolderGetsANewToken() {
        var lease = Lease()
        _ = lease.acquire("a", for: .seconds(10), at: start)
        lease.release("b")
        XCTAssertEqual(lease.holder(at: start), "a", "only the holder can release")
        lease.release("a")
        XCTAssertNil(lease.holder(at: start))
        XCTAssertEqual(lease.acquire("a", for: .seconds(10), at: start), .granted(token: 2))
    }
}
