extension BalancePolicy {
    /// Chooses one of `candidates`, which are the online backends not yet tried for this request.
    ///
    /// - Parameters:
    ///   - turn: a counter the caller advances by one per choice; only `roundRobin` uses it.
    ///   - generator: the random source, injectable so tests are deterministic.
    /// - Returns: the position in `candidates`, or `nil` when there are none.
    public func choose<Generator: RandomNumberGenerator>(
        from candidates: [BackendLoad],
        turn: UInt64,
        using generator: inout Generator
    ) -> Int? {
        switch candidates.count {
        case 0: return nil
        case 1: return 0
        default: break
        }
        switch self {
        case .least:
            // Reservoir sampling over the ties gives each least-loaded backend the same chance
            // without collecting them first.
            var best = 0
            var ties = 1
            for index in 1..<candidates.count {
                let load = candidates[index].inFlight
                if load < candidates[best].inFlight {
                    best = index
                    ties = 1
                } else if load == candidates[best].inFlight {
                    ties += 1
                    if Int.random(in: 0..<ties, using: &generator) == 0 { best = index }
                }
            }
            return best
        case .random:
            return Int.random(in: 0..<candidates.count, using: &generator)
        case .roundRobin:
            return Int(turn % UInt64(candidates.count))
        case .p2cEWMA:
            let first = Int.random(in: 0..<candidates.count, using: &generator)
            var second = Int.random(in: 0..<(candidates.count - 1), using: &generator)
            if second >= first { second += 1 }
            let firstCost = Self.cost(candidates[first])
            let secondCost = Self.cost(candidates[second])
            if firstCost == secondCost { return Bool.random(using: &generator) ? first : second }
            return firstCost < secondCost ? first : second
        }
    }

    /// Latency weighed by the queue the request would join. A backend with no latency sample
    /// yet counts as fast (1 ms), so new backends get traffic and thus a sample.
    static func cost(_ load: BackendLoad) -> Double {
        max(load.latency, 0.001) * Double(load.inFlight + 1)
    }
}
