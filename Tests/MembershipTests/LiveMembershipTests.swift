import Testing

@testable import Membership

/// The live view with real tasks: subscribers that lag, publishers that race, iterations that are cancelled.
@Suite(.timeLimit(.minutes(1))) struct LiveMembershipTests {
    static let local = Member(name: "lb", host: "127.0.0.1", port: 7946, status: .alive)

    static func backend(_ name: String) -> Member {
        Member(name: name, host: "10.0.0.2", port: 7946, status: .alive, tags: ["apps": "web"])
    }

    @Test func aChangeBetweenSubscribingAndTheFirstSnapshotIsInIt() async {
        let view = LiveMembership(localMember: Self.local)
        var updates = view.snapshots().makeAsyncIterator()
        view.apply(.joined(Self.backend("b1")))
        let first = await updates.next()
        #expect(first?.version == 2)
        #expect(first?.member(named: "b1") != nil)
    }

    @Test func aSlowSubscriberIsHandedTheNewestStateNotABacklog() async {
        let view = LiveMembership(localMember: Self.local)
        var updates = view.snapshots().makeAsyncIterator()
        #expect(await updates.next()?.version == 1)
        for index in 0..<500 {
            view.apply(.joined(Self.backend("b\(index)")))
        }
        let caughtUp = await updates.next()
        #expect(caughtUp == view.snapshot)
        #expect(caughtUp?.version == 501)
        #expect(caughtUp?.count == 501)

    }

    @Test func aWaitingSubscriberIsWokenWithTheNextState() async {
        let view = LiveMembership(localMember: Self.local)
        let woken = Task {
            var updates = view.snapshots().makeAsyncIterator()
            _ = await updates.next()
            return await updates.next()
        }
        while view.subscribersWaiting == 0 { await Task.yield() }
        view.apply(.joined(Self.backend("b1")))
        #expect(await woken.value?.version == 2)
    }

    @Test func aRepeatedAnnouncementWakesNobody() async {
        let view = LiveMembership(localMember: Self.local)
        view.apply(.joined(Self.backend("b1")))
        var updates = view.snapshots().makeAsyncIterator()
        #expect(await updates.next()?.version == 2)
        #expect(view.apply(.updated(Self.backend("b1"))).version == 2)
        view.apply(.joined(Self.backend("b2")))
        #expect(await updates.next()?.version == 3, "the next state handed over is the real change, not the repeat")
    }

    /// Publishers racing each other and subscribers that yield between states: every subscriber sees versions
    /// rising, and ends on the final state with every change in it.
    @Test func concurrentPublishersAndSubscribers() async {
        let view = LiveMembership(localMember: Self.local)
        let publishers = 8, joinsEach = 50
        let seen = await withTaskGroup(of: [MembershipSnapshot].self) { group in
            for _ in 0..<4 {
                let updates = view.snapshots()
                group.addTask {
                    var seen: [MembershipSnapshot] = []
                    for await snapshot in updates {
                        seen.append(snapshot)
                        await Task.yield()
                    }
                    return seen
                }
            }
            await withTaskGroup(of: Void.self) { publishing in
                for publisher in 0..<publishers {
                    publishing.addTask {
                        for join in 0..<joinsEach {
                            view.apply(.joined(Self.backend("p\(publisher)-\(join)")))
                            if join.isMultiple(of: 7) { await Task.yield() }
                        }
                    }
                }
            }
            view.finish()
            return await group.reduce(into: []) { $0.append($1) }
        }
        let final = view.snapshot
        #expect(final.version == UInt64(1 + publishers * joinsEach))
        #expect(final.count == 1 + publishers * joinsEach)
        #expect(seen.count == 4)
        for snapshots in seen {
            let versions = snapshots.map(\.version)
            #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "versions rise")
            #expect(snapshots.last == final, "the subscriber ends on the final state")
            if let first = snapshots.first {
                #expect(first.applying(final.changes(since: first)).members == final.members)
            }
        }
        #expect(view.subscriberCount == 0)
    }

    @Test func cancellingTheIteratingTaskEndsItsSubscription() async {
        let view = LiveMembership(localMember: Self.local)
        let updates = view.snapshots()
        let waiting = Task {
            var iterator = updates.makeAsyncIterator()
            _ = await iterator.next()
            let afterCancel = await iterator.next()
            return (afterCancel, view.subscriberCount)
        }
        while view.subscribersWaiting == 0 { await Task.yield() }
        waiting.cancel()
        let (afterCancel, countInsideTheTask) = await waiting.value
        #expect(afterCancel == nil)
        #expect(countInsideTheTask == 0, "cancelled while its iterator was still alive, the subscription was already gone")
        view.apply(.joined(Self.backend("b1")))
        #expect(view.subscriberCount == 0)
    }

    @Test func anAlreadyCancelledTaskGetsNothing() async {
        let view = LiveMembership(localMember: Self.local)
        let updates = view.snapshots()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            var iterator = updates.makeAsyncIterator()
            return await iterator.next()
        }
        #expect(await task.value == nil)
        #expect(view.subscriberCount == 0)
    }

    @Test func droppingTheIteratorUnsubscribes() async {
        let view = LiveMembership(localMember: Self.local)
        do {
            var updates = view.snapshots().makeAsyncIterator()
            #expect(view.subscriberCount == 1)
            _ = await updates.next()
        }
        #expect(view.subscriberCount == 0)
    }

    @Test func finishingEndsEverySubscriptionAfterTheFinalState() async {
        let view = LiveMembership(localMember: Self.local)
        var behind = view.snapshots().makeAsyncIterator()
        let waiting = Task {
            var updates = view.snapshots().makeAsyncIterator()
            var seen: [UInt64] = []
            while let snapshot = await updates.next() { seen.append(snapshot.version) }
            return seen
        }
        while view.subscribersWaiting == 0 { await Task.yield() }
        view.apply(.joined(Self.backend("b1")))
        view.finish()
        #expect(await waiting.value.last == 2, "the waiting subscriber ends on the final state")
        #expect(await behind.next()?.version == 2, "a subscriber behind still gets the final state")
        #expect(await behind.next() == nil)
        #expect(view.apply(.joined(Self.backend("b2"))).version == 2, "nothing is published after the finish")
    }
}
