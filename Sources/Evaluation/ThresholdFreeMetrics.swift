import Torch

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney U statistic over nP · nN). nil when one
/// class is absent.
public enum AUROC {
    public static func compute(scores: [Double], positive: [Bool]) -> Double? {
        precondition(scores.count == positive.count)
        let nPositive = positive.filter { $0 }.count, nNegative = positive.count - nPositive
        guard nPositive > 0, nNegative > 0 else { return nil }
        // Mid-ranks over ties, then U = Σ ranks of positives − nP(nP + 1)/2.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let midRank = Double(i + j) / 2 + 1
            for k in i...j where positive[order[k]] { rankSum += midRank }
            i = j + 1
        }
        let u = rankSum - Double(nPositive * (nPositive + 1)) / 2
        return u / (Double(nPositive) * Double(nNegative))
    }
}

/// A paired comparison of two selection methods on the same questions: the mean per-question
/// difference (A − B) with a percentile bootstrap interval that resamples questions, so both
/// methods see the same resample.
public struct PairedDifference: Codable, Equatable, Sendable {
    public var a: String
    public var b: String
    public var difference: Double
    public var interval: Interval

    public static func make(_ a: String, _ b: String, valuesA: [Double], valuesB: [Double], seed: UInt64 = 0) -> PairedDifference {
        precondition(valuesA.count == valuesB.count)
        let d = zip(valuesA, valuesB).map { $0 - $1 }
        return PairedDifference(a: a, b: b, difference: d.reduce(0, +) / Double(Swift.max(d.count, 1)),
                                interval: Bootstrap.interval(d, seed: seed))
    }
}

/// How a PRM's chain scores fall for correct and for wrong chains: counts in equal bins over
/// the range of its ranking scores (the pre-σ aggregate), so that a PRM whose scores differ by
/// thousandths still shows its shape.
public struct ScoreDistribution: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double
    public var correct: [Int]
    public var wrong: [Int]

    public static func make(scores: [Double], correct labels: [Bool], bins: Int = 20) -> ScoreDistribution {
        let low = scores.min() ?? 0, high = scores.max() ?? 0
        var correct = Array(repeating: 0, count: bins), wrong = correct
        for (s, ok) in zip(scores, labels) {
            let bin = high > low ? Swift.min(bins - 1, Int(Double(bins) * (s - low) / (high - low))) : 0
            if ok { correct[bin] += 1 } else { wrong[bin] += 1 }
        }
        return ScoreDistribution(low: low, high: high, correct: correct, wrong: wrong)
    }

    /// Bin centres.
    public var centers: [Double] {
        let width = (high - low) / Double(correct.count)
        return correct.indices.map { low + width * (Double($0) + 0.5) }
    }
}
