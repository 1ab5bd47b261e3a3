import Foundation

/// Step logits z seen by a training step: how many sit where σ is flat.
public struct LogitStatistics: Equatable, Sendable {
    /// |z| above this puts σ'(z) below 3.4e-4: the MSE passes almost no gradient.
    public static let saturationThreshold = 8.0

    public var count = 0
    public var saturated = 0
    public var sumAbs = 0.0

    public init() {}

    public init(_ z: [Double]) {
        count = z.count
        saturated = z.filter { abs($0) > Self.saturationThreshold }.count
        sumAbs = z.reduce(0) { $0 + abs($1) }
    }

    public var saturatedFraction: Double { count > 0 ? Double(saturated) / Double(count) : 0 }
    public var meanAbs: Double { count > 0 ? sumAbs / Double(count) : 0 }

    public static func + (a: Self, b: Self) -> Self {
        var s = a
        s.count += b.count
        s.saturated += b.saturated
        s.sumAbs += b.sumAbs
        return s
    }
}

/// Watches a run for the two ways DreamPRM silently stops learning and says so once each:
/// saturated step logits (no gradient through σ) and an exactly zero hypergradient (the data
/// weights cannot move).
public struct TrainingHealth {
    /// Iterations over which saturation is judged, and the fraction that triggers the warning.
    public var window = 20
    public var saturationLimit = 0.5
    /// Consecutive upper steps with a zero hypergradient that trigger the warning.
    public var zeroHypergradientLimit = 3

    private var recent: [LogitStatistics] = []
    private var zeroHypergradients = 0
    private var warnedSaturation = false
    private var warnedHypergradient = false

    public init() {}

    /// Records one iteration; returns the warnings it triggers (each at most once per run).
    public mutating func record(lower: LogitStatistics, hypergradientNorm: Double?) -> [String] {
        var warnings: [String] = []
        recent.append(lower)
        if recent.count > window { recent.removeFirst() }
        let pooled = recent.reduce(LogitStatistics(), +)
        if !warnedSaturation, recent.count == window, pooled.saturatedFraction > saturationLimit {
            warnedSaturation = true
            warnings.append(String(format: "warning: %.0f%% of the step logits of the last %d iterations are saturated (|z| > %.0f, mean |z| %.1f): "
                                   + "σ is flat there, so the loss passes almost no gradient and the hypergradient vanishes. Likely cause: the "
                                   + "head's start or rate (--head_init reference, or a large --head_lr / --lr); the default --head_init "
                                   + "standardized with --head_lr 0.05 starts at p = 0.5 and moves z by at most ~0.1 a step.",
                                   100 * pooled.saturatedFraction, recent.count, LogitStatistics.saturationThreshold, pooled.meanAbs))
        }
        if let norm = hypergradientNorm {
            zeroHypergradients = norm == 0 ? zeroHypergradients + 1 : 0
            if !warnedHypergradient, zeroHypergradients >= zeroHypergradientLimit {
                warnedHypergradient = true
                warnings.append("warning: the hypergradient has been exactly 0 for \(zeroHypergradients) upper steps, so the domain weights "
                                + "cannot move. Likely causes: saturated step logits (see 'sat' in the progress line; --head_init, "
                                + "--head_lr, --lr), or a darts radius too small for the weights' precision (--precision bf16).")
            }
        }
        return warnings
    }
}
