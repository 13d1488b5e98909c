/// A small, fast pseudo-random generator (Steele, Lea and Flood, 2014) for balancing and jitter.
///
/// `SystemRandomNumberGenerator` makes a system call per number on Linux; choosing a backend
/// needs one or two numbers per request and no cryptographic strength, so each connection
/// handler keeps one of these, seeded once from the system generator.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    init() {
        var system = SystemRandomNumberGenerator()
        self.state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
