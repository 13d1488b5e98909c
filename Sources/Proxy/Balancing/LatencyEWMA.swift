/// An exponentially weighted moving average of response latency.
///
/// Each sample moves the average by `weight` of the difference; with the default 0.3 about the
/// last ten samples matter, so a backend that slows down loses traffic within a few requests.
/// The first sample replaces the initial zero so one request is enough to rank a new backend.
public struct LatencyEWMA: Sendable, Equatable {
    public private(set) var value: Double
    public let weight: Double
    private var hasSample: Bool

    public init(weight: Double = 0.3) {
        self.value = 0
        self.weight = weight
        self.hasSample = false
    }

    /// Adds a latency sample in seconds.
    public mutating func record(_ seconds: Double) {
        if hasSample {
            value += weight * (seconds - value)
        } else {
            value = seconds
            hasSample = true
        }
    }
}
