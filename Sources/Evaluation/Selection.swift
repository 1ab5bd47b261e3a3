/// How one candidate is picked when several share the best score.
public enum TieRule: String, Codable, CaseIterable, Sendable {
    /// The earliest candidate.
    case first
    /// The latest candidate (what the reference code's `>=` comparison does).
    case last
    /// The expected correctness of a uniform pick among the tied candidates.
    case expected
}

/// Best-of-N selection rules. Each returns the expected correctness of its pick in [0, 1]
/// (1 or 0 for a deterministic pick), so averages over questions are exact accuracies.
public enum Selection {
    /// The candidate with the highest score.
    public static func byScore(_ scores: [Double], correct: [Bool], tie: TieRule) -> Double {
        precondition(scores.count == correct.count && !scores.isEmpty)
        let best = scores.max()!
        let tied = scores.indices.filter { scores[$0] == best }
        switch tie {
        case .first: return correct[tied.first!] ? 1 : 0
        case .last: return correct[tied.last!] ? 1 : 0
        case .expected: return Double(tied.filter { correct[$0] }.count) / Double(tied.count)
        }
    }

    /// Self-consistency: the index of the first candidate that states the most frequent
    /// answer; ties between answers go to the one stated first. Candidates without an answer
    /// do not vote; when none has one, the first candidate.
    public static func majorityIndex(_ answers: [String?]) -> Int {
        var counts: [String: Int] = [:], firstSeen: [String: Int] = [:]
        for (i, a) in answers.enumerated() {
            guard let a else { continue }
            counts[a, default: 0] += 1
            if firstSeen[a] == nil { firstSeen[a] = i }
        }
        guard let top = counts.values.max() else { return 0 }
        return counts.filter { $0.value == top }.map { firstSeen[$0.key]! }.min()!
    }

    /// Like `majorityIndex`, with each candidate's vote counted as its weight in [0, 1], given
    /// by its complement 1 − weight: an answer's total is votes − Σ complements, compared as
    /// such, so answers with equal votes of near-certain candidates (weights all 1.0 in
    /// Double) still differ by what their weights lack instead of tying into a plain vote.
    public static func weightedMajorityIndex(_ answers: [String?], complements: [Double]) -> Int {
        var votes: [String: Int] = [:], lacking: [String: Double] = [:], firstSeen: [String: Int] = [:]
        for (i, a) in answers.enumerated() {
            guard let a else { continue }
            votes[a, default: 0] += 1
            lacking[a, default: 0] += complements[i]
            if firstSeen[a] == nil { firstSeen[a] = i }
        }
        // a beats b when votes(a) − votes(b) > lacking(a) − lacking(b); the first stated wins ties.
        return firstSeen.keys.sorted { firstSeen[$0]! < firstSeen[$1]! }.reduce(nil as String?) { best, a in
            guard let best else { return a }
            return Double(votes[a]! - votes[best]!) > lacking[a]! - lacking[best]! ? a : best
        }.map { firstSeen[$0]! } ?? 0
    }

    public static func majority(_ answers: [String?], correct: [Bool]) -> Double {
        correct[majorityIndex(answers)] ? 1 : 0
    }

    /// A uniformly random candidate, in exact expectation: the fraction that is correct.
    public static func random(_ correct: [Bool]) -> Double {
        Double(correct.filter { $0 }.count) / Double(correct.count)
    }

    /// pass@N: whether any candidate is correct.
    public static func oracle(_ correct: [Bool]) -> Double { correct.contains(true) ? 1 : 0 }

    public static func first(_ correct: [Bool]) -> Double { correct[0] ? 1 : 0 }
}
