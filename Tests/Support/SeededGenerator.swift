import Membership

/// The tests' deterministic random source, so that tests of randomised inputs and choices repeat exactly: the
/// membership library's SplitMix64 (``SeededRandom``), which its simulations already use.
public typealias SeededGenerator = SeededRandom
