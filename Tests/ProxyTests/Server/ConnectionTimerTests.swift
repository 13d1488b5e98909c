import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

@Suite struct ConnectionTimerTests {
    final class Expiries {
        var count = 0
    }

    @Test func firesOnceWhenTheDeadlinePasses() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let timer = ConnectionTimer(eventLoop: loop) { expiries.count += 1 }
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(9))
        #expect(expiries.count == 0)
        loop.advanceTime(by: .seconds(1))
        #expect(expiries.count == 1)
        loop.advanceTime(by: .seconds(100))
        #expect(expiries.count == 1)
    }

    @Test func rearmingMovesTheDeadlineLater() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let timer = ConnectionTimer(eventLoop: loop) { expiries.count += 1 }
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(8))
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(5))
        #expect(expiries.count == 0)
        loop.advanceTime(by: .seconds(5))
        #expect(expiries.count == 1)
    }

    @Test func rearmingEarlierSchedulesEarlier() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let timer = ConnectionTimer(eventLoop: loop) { expiries.count += 1 }
        timer.arm(in: .seconds(120))
        timer.arm(in: .seconds(1))
        loop.advanceTime(by: .seconds(1))
        #expect(expiries.count == 1)
    }

    @Test func disarmedTimerDoesNotFire() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let timer = ConnectionTimer(eventLoop: loop) { expiries.count += 1 }
        timer.arm(in: .seconds(1))
        timer.disarm()
        loop.advanceTime(by: .seconds(5))
        #expect(expiries.count == 0)
        timer.arm(in: .seconds(1))
        timer.cancel()
        loop.advanceTime(by: .seconds(5))
        #expect(expiries.count == 0)
    }
}
