import Foundation

/// Whether a run's domain weights moved for a reason or by chance: each domain's hypergradient
/// entries over the upper steps (less the mean over domains at that step, since the weights are
/// normalised to mean 1 and only differences move them) have a mean and a standard error; a
/// mean beyond `threshold` standard errors is a push the batches agree on. Consecutive upper
/// steps are not independent (θ moves slowly), so this is a screen, not a test.
public struct WeightVerdict: Codable, Equatable, Sendable {
    public static let threshold = 3.0
    public static let minimumSteps = 10

    public var upperSteps: Int
    /// Per domain: mean / standard error of its centred hypergradient (negative: pushed up).
    public var signalToNoise: [String: Double]
    public var separated: Bool
    /// The domain with the lowest final weight.
    public var lowest: String?
    public var summary: String

    enum CodingKeys: String, CodingKey {
        case upperSteps = "upper_steps", signalToNoise = "signal_to_noise", separated, lowest, summary
    }

    public init(metrics: [MetricsLine], finalWeights: [String: Double]) {
        let steps = metrics.compactMap(\.hypergradientByDomain).filter { !$0.isEmpty }
        upperSteps = steps.count
        lowest = finalWeights.min { $0.value < $1.value }?.key
        var ratios: [String: Double] = [:]
        if steps.count >= 2 {
            let domains = steps[0].keys.sorted()
            let centred = steps.map { g in
                let mean = domains.reduce(0) { $0 + (g[$1] ?? 0) } / Double(domains.count)
                return domains.map { (g[$0] ?? 0) - mean }
            }
            for (d, name) in domains.enumerated() {
                let xs = centred.map { $0[d] }, n = Double(xs.count)
                let mean = xs.reduce(0, +) / n
                let sd = (xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
                ratios[name] = sd > 0 ? mean / (sd / n.squareRoot()) : 0
            }
        }
        signalToNoise = ratios
        let strongest = ratios.max { abs($0.value) < abs($1.value) }
        separated = upperSteps >= Self.minimumSteps && abs(strongest?.value ?? 0) >= Self.threshold
        let lowestText = lowest.map { ", lowest weight \($0) \(String(format: "%.3f", finalWeights[$0]!))" } ?? ""
        let question = "weights separated beyond their batch-to-batch noise"
        if upperSteps < Self.minimumSteps {
            summary = "weights: \(upperSteps) upper steps are too few to tell signal from batch-to-batch noise"
                + " (need \(Self.minimumSteps))"
        } else if let strongest {
            let size = String(format: "%.1f", abs(strongest.value)), way = strongest.value < 0 ? "up" : "down"
            summary = separated
                ? "\(question): yes (\(strongest.key) pushed \(way) by \(size) standard errors"
                    + " over \(upperSteps) upper steps\(lowestText))"
                : "\(question): no (at most \(size) standard errors over \(upperSteps) upper steps): read them as noise"
        } else {
            summary = "weights: no hypergradients recorded"
        }
    }
}
