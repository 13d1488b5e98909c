import Testing
import TestSupport

@testable import Proxy

@Suite struct BalancePolicyTests {
    private func counts(_ policy: BalancePolicy, _ loads: [BackendLoad], rounds: Int = 3000) -> [Int] {
        var generator = SeededGenerator(seed: 42)
        var counts = Array(repeating: 0, count: loads.count)
        for turn in 0..<rounds {
            let choice = policy.choose(from: loads, turn: UInt64(turn), using: &generator)
            counts[choice!] += 1
        }
        return counts
    }

    @Test(arguments: BalancePolicy.allCases)
    func noCandidatesNoChoice(policy: BalancePolicy) {
        var generator = SeededGenerator(seed: 1)
        #expect(policy.choose(from: [], turn: 0, using: &generator) == nil)
        #expect(policy.choose(from: [BackendLoad(inFlight: 9)], turn: 5, using: &generator) == 0)
    }

    @Test func leastPicksFewestInFlight() {
        let loads = [BackendLoad(inFlight: 3), BackendLoad(inFlight: 1), BackendLoad(inFlight: 2)]
        #expect(counts(.least, loads, rounds: 50) == [0, 50, 0])
    }

    @Test func leastBreaksTiesAtRandom() {
        let loads = [BackendLoad(inFlight: 1), BackendLoad(inFlight: 5), BackendLoad(inFlight: 1), BackendLoad(inFlight: 1)]
        let result = counts(.least, loads)
        #expect(result[1] == 0)
        for index in [0, 2, 3] {
            #expect((800...1200).contains(result[index]), "tie \(index) chosen \(result[index]) of 3000")
        }
    }

    @Test func randomSpreadsUniformly() {
        let result = counts(.random, Array(repeating: BackendLoad(inFlight: 0), count: 3))
        #expect(result.allSatisfy { (800...1200).contains($0) }, "\(result)")
    }

    @Test func roundRobinTakesTurns() {
        var generator = SeededGenerator(seed: 1)
        let loads = Array(repeating: BackendLoad(inFlight: 0), count: 3)
        let picks = (0..<6).map { BalancePolicy.roundRobin.choose(from: loads, turn: UInt64($0), using: &generator)! }
        #expect(picks == [0, 1, 2, 0, 1, 2])
    }

    @Test func powerOfTwoChoicesAvoidsSlowAndBusyBackends() {
        let loads = [
            BackendLoad(inFlight: 0, latency: 0.010),
            BackendLoad(inFlight: 0, latency: 0.500),
            BackendLoad(inFlight: 20, latency: 0.010),
        ]
        let result = counts(.p2cEWMA, loads)
        // The fast idle backend wins every pair it is drawn in: two pairs out of three.
        #expect(result[0] > 1800, "\(result)")
        // Of the slow and the busy one, the slow one costs 0.5, the busy one 0.21.
        #expect(result[2] > result[1], "\(result)")
        #expect(result[0] + result[1] + result[2] == 3000)
    }

    @Test func powerOfTwoChoicesNeverPicksTheSameBackendTwiceInAPair() {
        // With two candidates the pair is always both, so the cheaper one always wins.
        let loads = [BackendLoad(inFlight: 1, latency: 0.1), BackendLoad(inFlight: 0, latency: 0.1)]
        #expect(counts(.p2cEWMA, loads, rounds: 200) == [0, 200])
    }

    @Test func policyNamesMatchConfiguration() {
        #expect(BalancePolicy(rawValue: "least") == .least)
        #expect(BalancePolicy(rawValue: "round_robin") == .roundRobin)
        #expect(BalancePolicy(rawValue: "p2c_ewma") == .p2cEWMA)
        #expect(BalancePolicy(rawValue: "random") == .random)
    }
}

@Suite struct LatencyEWMATests {
    @Test func firstSampleSetsTheAverage() {
        var average = LatencyEWMA()
        #expect(average.value == 0)
        average.record(0.2)
        #expect(average.value == 0.2)
    }

    @Test func laterSamplesMoveByTheWeight() {
        var average = LatencyEWMA(weight: 0.5)
        average.record(1.0)
        average.record(0.0)
        #expect(average.value == 0.5)
        average.record(0.0)
        #expect(average.value == 0.25)
    }
}
