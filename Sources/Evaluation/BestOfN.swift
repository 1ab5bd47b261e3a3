import Foundation
import PRM
import Torch

/// One best-of-N question: its candidates' correctness, normalised final answers, and the
/// per-step logits every evaluated PRM gave each candidate.
public struct CandidateSet {
    public var dataset: String
    public var correct: [Bool]
    public var answers: [String?]
    /// PRM name → candidate → step logits z_k.
    public var stepLogits: [String: [[Double]]]
    /// Per candidate, the first wrong step (nil: all correct); absent in most data.
    public var firstWrongStep: [Int?]?

    public init(dataset: String, correct: [Bool], answers: [String?], stepLogits: [String: [[Double]]] = [:], firstWrongStep: [Int?]? = nil) {
        self.dataset = dataset
        self.correct = correct
        self.answers = answers
        self.stepLogits = stepLogits
        self.firstWrongStep = firstWrongStep
    }

    public var count: Int { correct.count }
}

/// A selection rule over a subset of a question's candidates (indices in their original order).
public struct SelectionMethod {
    public let name: String
    public let pick: (CandidateSet, [Int]) -> Double

    public static let first = SelectionMethod(name: "first") { q, s in Selection.first(s.map { q.correct[$0] }) }
    public static let random = SelectionMethod(name: "random") { q, s in Selection.random(s.map { q.correct[$0] }) }
    public static let selfConsistency = SelectionMethod(name: "self-consistency") { q, s in
        Selection.majority(s.map { q.answers[$0] }, correct: s.map { q.correct[$0] })
    }
    public static let oracle = SelectionMethod(name: "oracle") { q, s in Selection.oracle(s.map { q.correct[$0] }) }
    /// The rules every report carries beside the PRMs.
    public static let baselines = [selfConsistency, first, random, oracle]

    /// PRM selection: the highest aggregate of the candidates' step scores, compared before
    /// the final σ so that saturated aggregates do not tie.
    public static func prm(_ prm: String, _ aggregation: Aggregation, tie: TieRule, name: String? = nil) -> SelectionMethod {
        SelectionMethod(name: name ?? "\(prm) [\(aggregation.rawValue)]") { q, s in
            guard let logits = q.stepLogits[prm] else { preconditionFailure("no scores of \(prm)") }
            return Selection.byScore(s.map { aggregation.rankingScore(logits: logits[$0]) }, correct: s.map { q.correct[$0] }, tie: tie)
        }
    }

    /// Weighted self-consistency: each candidate votes for its final answer with its PRM score
    /// (the aggregate in (0, 1)); the answer with the largest total wins, ties going to the
    /// answer stated first; candidates without an answer do not vote.
    public static func weightedVote(_ prm: String, _ aggregation: Aggregation) -> SelectionMethod {
        SelectionMethod(name: "\(prm) weighted vote") { q, s in
            guard let logits = q.stepLogits[prm] else { preconditionFailure("no scores of \(prm)") }
            let index = Selection.weightedMajorityIndex(s.map { q.answers[$0] },
                                                        complements: s.map { aggregation.complement(logits: logits[$0]) })
            return q.correct[s[index]] ? 1 : 0
        }
    }
}

public struct Accuracy: Codable, Equatable, Sendable {
    public var accuracy: Double
    public var interval: Interval
    public var questions: Int
}

/// Accuracies of selection methods per dataset and overall, with bootstrap intervals, and
/// scaling curves: mean accuracy over every subset of n candidates (sampled when there are
/// more than `maxSubsets`), for n = 1, 2, 4, 8, ….
public enum BestOfNEvaluation {
    public static let overall = "overall"

    public static func accuracies(_ questions: [CandidateSet], methods: [SelectionMethod], seed: UInt64 = 0) -> [String: [String: Accuracy]] {
        let datasets = Array(Set(questions.map(\.dataset))).sorted() + [overall]
        var result: [String: [String: Accuracy]] = [:]
        for method in methods {
            let values = questions.map { method.pick($0, Array(0..<$0.count)) }
            for dataset in datasets {
                let v = zip(questions, values).filter { dataset == overall || $0.0.dataset == dataset }.map(\.1)
                result[method.name, default: [:]][dataset] = Accuracy(accuracy: v.reduce(0, +) / Double(Swift.max(v.count, 1)),
                                                                      interval: Bootstrap.interval(v, seed: seed), questions: v.count)
            }
        }
        return result
    }

    /// Method → n → overall accuracy.
    public static func scaling(_ questions: [CandidateSet], methods: [SelectionMethod], sizes: [Int] = [1, 2, 4, 8],
                               maxSubsets: Int = 256, seed: UInt64 = 0) -> [String: [Int: Double]] {
        let smallest = questions.map(\.count).min() ?? 0
        var result: [String: [Int: Double]] = [:]
        for n in sizes where n <= smallest {
            var rng = SplitMix64(seed: seed &+ UInt64(n))
            let subsetsPerQuestion = questions.map { subsets(of: $0.count, size: n, max: maxSubsets, rng: &rng) }
            for method in methods {
                let perQuestion = zip(questions, subsetsPerQuestion).map { q, subsets in
                    subsets.map { method.pick(q, $0) }.reduce(0, +) / Double(subsets.count)
                }
                result[method.name, default: [:]][n] = perQuestion.reduce(0, +) / Double(questions.count)
            }
        }
        return result
    }

    /// All size-k subsets of 0..<n in order, or `max` distinct random ones when there are more.
    static func subsets(of n: Int, size k: Int, max: Int, rng: inout SplitMix64) -> [[Int]] {
        if binomial(n, k) <= Double(max) {
            var out: [[Int]] = [], current: [Int] = []
            func walk(_ start: Int) {
                if current.count == k { out.append(current); return }
                guard start < n else { return }
                for i in start..<n where n - i >= k - current.count {
                    current.append(i); walk(i + 1); current.removeLast()
                }
            }
            walk(0)
            return out
        }
        var seen = Set<[Int]>()
        while seen.count < max { seen.insert(Array(Array(0..<n).shuffled(using: &rng).prefix(k)).sorted()) }
        return seen.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
    }
}

/// ProcessBench-style step-level evaluation: the predicted first wrong step is the first whose
/// P(correct) falls below the threshold; accuracy on erroneous chains (exact step) and on
/// correct chains (no step flagged), and their harmonic mean.
public struct StepLevelResult: Codable, Equatable, Sendable {
    public var threshold: Double
    public var erroneousAccuracy: Double
    public var correctAccuracy: Double
    public var f1: Double
    public var erroneousChains: Int
    public var correctChains: Int

    public static func evaluate(_ chains: [(stepLogits: [Double], firstWrongStep: Int?)], threshold: Double = 0.5) -> StepLevelResult {
        let logit = log(threshold / (1 - threshold))
        var errHit = 0, errCount = 0, okHit = 0, okCount = 0
        for c in chains {
            let predicted = c.stepLogits.firstIndex { $0 < logit }
            if let wrong = c.firstWrongStep {
                errCount += 1
                if predicted == wrong { errHit += 1 }
            } else {
                okCount += 1
                if predicted == nil { okHit += 1 }
            }
        }
        let e = errCount > 0 ? Double(errHit) / Double(errCount) : 0
        let o = okCount > 0 ? Double(okHit) / Double(okCount) : 0
        return StepLevelResult(threshold: threshold, erroneousAccuracy: e, correctAccuracy: o,
                               f1: e + o > 0 ? 2 * e * o / (e + o) : 0, erroneousChains: errCount, correctChains: okCount)
    }
}
