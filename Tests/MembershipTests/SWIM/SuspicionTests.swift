import NIOCore
import Testing

@testable import Membership

@Suite struct SuspicionTests {
    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    @Test func timeoutStartsAtTheMaximumAndShrinksLogarithmicallyWithConfirmations() {
        var suspicion = Suspicion(from: "a", expected: 3, minimum: .seconds(2), maximum: .seconds(12), now: start)
        #expect(suspicion.deadline == start + .seconds(12))
        #expect((suspicion.confirm(from: "b") as Bool))
        // 12 - log(2)/log(4) * 10 = 7 s
        #expect(suspicion.deadline == start + .seconds(7))
        #expect((suspicion.confirm(from: "c") as Bool))
        // 12 - log(3)/log(4) * 10 = 4.075 s, floored to the millisecond
        #expect(suspicion.deadline == start + .milliseconds(4075))
        #expect((suspicion.confirm(from: "d") as Bool))
        #expect(suspicion.deadline == start + .seconds(2))
    }

    @Test func theRaiserARepeatedConfirmerAndConfirmationsBeyondKDoNotCount() {
        var suspicion = Suspicion(from: "a", expected: 2, minimum: .seconds(1), maximum: .seconds(6), now: start)
        #expect(!(suspicion.confirm(from: "a") as Bool))
        #expect((suspicion.confirm(from: "b") as Bool))
        #expect(!(suspicion.confirm(from: "b") as Bool))
        #expect((suspicion.confirm(from: "c") as Bool))
        #expect(!(suspicion.confirm(from: "d") as Bool))
        #expect(suspicion.confirmations == 2)
    }

    @Test func withNoConfirmationsExpectedTheTimeoutIsTheMinimum() {
        let suspicion = Suspicion(from: "a", expected: 0, minimum: .seconds(3), maximum: .seconds(18), now: start)
        #expect(suspicion.deadline == start + .seconds(3))
    }

    @Test func awarenessIsClampedAndStretchesTimeouts() {
        var awareness = Awareness(maximum: 8)
        let changed = awareness.apply(-1)
        #expect(!changed)
        #expect(awareness.scale(.seconds(1)) == .seconds(1))
        awareness.apply(3)
        #expect(awareness.scale(.milliseconds(500)) == .seconds(2))
        awareness.apply(100)
        #expect(awareness.score == 7)
        #expect(awareness.scale(.seconds(1)) == .seconds(8))
    }

    @Test func profileFormulasMatchMemberlist() {
        let lan = SWIMConfiguration(profile: .lan)
        #expect(lan.suspicionTimeout(members: 1) == .seconds(4))
        #expect(lan.suspicionTimeout(members: 1000) == .seconds(12))
        #expect(lan.suspicionTimeout(members: 50) == .milliseconds(6792))
        #expect(lan.retransmitLimit(members: 3) == 4)
        #expect(lan.retransmitLimit(members: 10) == 8)
        #expect(lan.pushPullInterval(members: 32) == .seconds(30))
        #expect(lan.pushPullInterval(members: 64) == .seconds(60))
        let local = SWIMConfiguration(profile: .local)
        #expect(local.probeTimeout == .milliseconds(200) && local.indirectChecks == 1 && local.suspicionMult == 3)
        let wan = SWIMConfiguration(profile: .wan)
        #expect(wan.probeInterval == .seconds(5) && wan.gossipNodes == 4)
    }
}

@Suite struct BroadcastQueueTests {
    @Test func aNewerMessageAboutANodeReplacesTheQueuedOne() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("suspect b", about: "b", size: 10)
        queue.enqueue("alive c", about: "c", size: 10)
        queue.enqueue("alive b", about: "b", size: 10)
        #expect(queue.count == 2)
        #expect(Set(queue.take(overhead: 2, limit: 1000, transmitLimit: 3)) == ["alive b", "alive c"])
    }

    @Test func eachMessageIsSentItsTransmitLimitThenDropped() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("m", about: "a", size: 10, notifyWhenFinished: true)
        #expect(queue.take(overhead: 2, limit: 100, transmitLimit: 3) == ["m"])
        #expect(queue.take(overhead: 2, limit: 100, transmitLimit: 3) == ["m"])
        #expect(queue.takeFinished().isEmpty)
        #expect(queue.take(overhead: 2, limit: 100, transmitLimit: 3) == ["m"])
        #expect(queue.take(overhead: 2, limit: 100, transmitLimit: 3) == [])
        #expect(queue.takeFinished() == ["a"])
    }

    @Test func aPacketTakesWhatFitsLeastTransmittedFirst() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("old", about: "a", size: 50)
        _ = queue.take(overhead: 0, limit: 100, transmitLimit: 10)
        queue.enqueue("new1", about: "b", size: 50)
        queue.enqueue("new2", about: "c", size: 40)
        // 100 bytes: the two never-sent ones fit (50 + 40); the once-sent one waits.
        #expect(Set(queue.take(overhead: 0, limit: 100, transmitLimit: 10)) == ["new1", "new2"])
        // All sent once now: the largest goes first, the newest of equal size.
        #expect(queue.take(overhead: 0, limit: 60, transmitLimit: 10) == ["new1"])
        #expect(queue.take(overhead: 0, limit: 60, transmitLimit: 10) == ["old"])
    }
}
