import Torch

/// Percentile bootstrap over questions: the 95 % interval of a mean, resampled with a seeded
/// generator so a report is reproducible.
public struct Interval: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }
}

public enum Bootstrap {
    public static func interval(_ values: [Double], resamples: Int = 2000, level: Double = 0.95, seed: UInt64 = 0) -> Interval {
        guard values.count > 1 else { let v = values.first ?? 0; return Interval(low: v, high: v) }
        var rng = SplitMix64(seed: seed)
        var means = (0..<resamples).map { _ in
            var sum = 0.0
            for _ in values.indices { sum += values[Int(rng.next() % UInt64(values.count))] }
            return sum / Double(values.count)
        }
        means.sort()
        let tail = (1 - level) / 2
        return Interval(low: quantile(means, tail), high: quantile(means, 1 - tail))
    }

    /// Linear interpolation between order statistics (NumPy's default "linear" method).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}
