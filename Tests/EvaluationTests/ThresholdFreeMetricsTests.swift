import Evaluation
import PRM
import XCTest

final class ThresholdFreeMetricsTests: XCTestCase {
    /// AUROC against its definition: the fraction of (positive, negative) pairs ordered
    /// correctly, ties one half; plus hand-computed cases.
    func testAUROCEqualsThePairwiseDefinition() {
        XCTAssertEqual(AUROC.compute(scores: [0.1, 0.4, 0.35, 0.8], positive: [false, false, true, true]), 0.75)
        XCTAssertEqual(AUROC.compute(scores: [1, 1, 1, 1], positive: [true, false, true, false]), 0.5)
        XCTAssertEqual(AUROC.compute(scores: [3, 2, 1], positive: [true, true, false]), 1)
        XCTAssertNil(AUROC.compute(scores: [1, 2], positive: [true, true]))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let n = Int.random(in: 2...40, using: &rng)
            let scores = (0..<n).map { _ in Double(Int.random(in: 0...6, using: &rng)) }  // many ties
            var positive = (0..<n).map { _ in Bool.random(using: &rng) }
            positive[0] = true; positive[1] = false
            var pairs = 0.0, count = 0.0
            for i in 0..<n where positive[i] {
                for j in 0..<n where !positive[j] {
                    pairs += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                    count += 1
                }
            }
            XCTAssertEqual(AUROC.compute(scores: scores, positive: positive)!, pairs / count, accuracy: 1e-12)
        }
    }

    func testPairedDifferenceIsTheMeanPerQuestionDifference() {
        let a: [Double] = [1, 1, 0, 1, 0, 1], b: [Double] = [0, 1, 0, 0, 0, 1]
        let d = PairedDifference.make("A", "B", valuesA: a, valuesB: b)
        XCTAssertEqual(d.difference, 2.0 / 6, accuracy: 1e-12)
        XCTAssert(d.interval.low <= d.difference && d.difference <= d.interval.high)
        XCTAssertGreaterThanOrEqual(d.interval.low, 0, "a paired difference that is never negative has no negative resample")
        let same = PairedDifference.make("A", "A", valuesA: a, valuesB: a)
        XCTAssertEqual(same.interval, Interval(low: 0, high: 0), "identical methods differ by exactly 0 in every resample")
    }

    /// Weighted self-consistency: answer totals decide; equal totals go to the answer stated first.
    func testWeightedVote() {
        XCTAssertEqual(Selection.weightedMajorityIndex(["7", "8", "8", "7", nil], complements: [0.1, 0.7, 0.7, 0.9, -4]), 0, "7: 1.0 against 8: 0.6")
        XCTAssertEqual(Selection.weightedMajorityIndex(["7", "8", "8"], complements: [0.1, 0.5, 0.5]), 1, "8: 1.0 against 7: 0.9")
        XCTAssertEqual(Selection.weightedMajorityIndex(["8", "7", "7"], complements: [0, 0.5, 0.5]), 0, "a tie goes to the answer stated first")
        XCTAssertEqual(Selection.weightedMajorityIndex([nil, nil], complements: [0, 0]), 0)
        // Through the selection method: σ(mean z) weights; candidate 2 is correct.
        let q = CandidateSet(dataset: "d", correct: [false, false, true], answers: ["1", "1", "2"],
                             stepLogits: ["p": [[-3], [-3], [4]]])
        XCTAssertEqual(SelectionMethod.weightedVote("p", .meanLogOdds).pick(q, [0, 1, 2]), 1, "0.047 + 0.047 against 0.982")
        XCTAssertEqual(SelectionMethod.selfConsistency.pick(q, [0, 1, 2]), 0)
        // Saturated aggregates (σ is 1.0 in Double above ~37) do not collapse into a plain vote:
        // the answer stated first (8) has two votes of log-odds 38 and 39, the other (7) two of
        // 40 and 45; a plain vote ties and picks 8, the weights pick 7.
        let sure = CandidateSet(dataset: "d", correct: [false, true, true, false], answers: ["8", "7", "7", "8"],
                                stepLogits: ["p": [[38], [40], [45], [39]]])
        XCTAssertEqual(Aggregation.meanLogOdds.score(logits: [38]), 1.0, "the premise: the scores themselves tie")
        XCTAssertEqual(SelectionMethod.weightedVote("p", .meanLogOdds).pick(sure, [0, 1, 2, 3]), 1)
        XCTAssertEqual(SelectionMethod.weightedVote("p", .mean).pick(sure, [0, 1, 2, 3]), 1)
        XCTAssertEqual(SelectionMethod.selfConsistency.pick(sure, [0, 1, 2, 3]), 0)
    }

    /// σ(Σ z) is exactly 1.0 in Double for both chains below; ranking before σ still tells
    /// them apart (METHOD.md §8).
    func testRankingOnThePreSigmoidAggregateBreaksSaturatedTies() {
        let chains: [[Double]] = [[20, 20, 19], [20, 20, 21]]
        XCTAssertEqual(Aggregation.sumLogOdds.score(logits: chains[0]), Aggregation.sumLogOdds.score(logits: chains[1]))
        let q = CandidateSet(dataset: "d", correct: [false, true], answers: ["1", "2"], stepLogits: ["p": chains])
        XCTAssertEqual(SelectionMethod.prm("p", .sumLogOdds, tie: .first).pick(q, [0, 1]), 1)
        for a in Aggregation.allCases {
            let z: [[Double]] = [[0.3, -1.2], [2.0, 0.1], [-0.4, -0.2]]
            let byScore = z.indices.sorted { a.score(logits: z[$0]) < a.score(logits: z[$1]) }
            let byRank = z.indices.sorted { a.rankingScore(logits: z[$0]) < a.rankingScore(logits: z[$1]) }
            XCTAssertEqual(byScore, byRank, "\(a): the ranking score orders chains as the score does")
        }
    }

    func testScoreDistributionCountsEveryChainOnce() {
        let d = ScoreDistribution.make(scores: [0, 0.5, 1, 1, 0.26], correct: [false, true, true, false, true], bins: 4)
        XCTAssertEqual(d.correct, [0, 1, 1, 1])
        XCTAssertEqual(d.wrong, [1, 0, 0, 1])
        XCTAssertEqual(d.centers, [0.125, 0.375, 0.625, 0.875])
    }
}

final class ReportRowTests: XCTestCase {
    /// The "last-step score" row ranks by the final step alone: here it picks the right chain
    /// (3 > 0) where the mean log-odds over both steps picks the wrong one (-2.53 < -0.41).
    func testLastStepRowRanksByTheFinalStepOnly() {
        let q = CandidateSet(dataset: "d", correct: [true, false], answers: ["1", "2"], stepLogits: ["P": [[-5, 3], [2, 0]]])
        let report = EvaluationReport.make([q], prms: ["P"], testFile: "t.json", aggregation: .meanLogOdds, tieRule: .first)
        XCTAssertEqual(report.methods.prefix(2), ["P", "P last-step score"])
        XCTAssertEqual(report.accuracy["P"]?[BestOfNEvaluation.overall]?.accuracy, 0)
        XCTAssertEqual(report.accuracy["P last-step score"]?[BestOfNEvaluation.overall]?.accuracy, 1)
    }
}

final class SeedSummaryTests: XCTestCase {
    /// Two seeds of one experiment, evaluated from hand-made scores; the summary's means and
    /// lowest domains are checked against values worked out by hand.
    func testMeansOverSeedsAndTheLowestDomainPerSeed() {
        func report(_ pick: [[Double]]) -> EvaluationReport {
            let questions = [CandidateSet(dataset: "d", correct: [true, false], answers: ["1", "2"], stepLogits: ["P": [pick[0], pick[1]]]),
                             CandidateSet(dataset: "d", correct: [false, true], answers: ["3", "4"], stepLogits: ["P": [[0], [1]]])]
            return EvaluationReport.make(questions, prms: ["P"], testFile: "t.json", aggregation: .meanLogOdds, tieRule: .first)
        }
        // Seed 1 picks right in both questions, seed 2 in the second only.
        let summary = SeedSummary.make(seeds: ["1", "2"], reports: [report([[2], [1]]), report([[0], [1]])],
                                       weights: [["a": 1.2, "b": 0.5, "c": 1.3], ["a": 0.4, "b": 0.9, "c": 1.7]])
        XCTAssertEqual(summary.accuracy["P"]?.perSeed, [1, 0.5])
        XCTAssertEqual(summary.accuracy["P"]?.mean, 0.75)
        XCTAssertEqual(summary.accuracy["random"]?.perSeed, [0.5, 0.5])
        XCTAssertEqual(summary.questionAUROC["P"]?.perSeed, [1, 0.5])
        XCTAssertEqual(summary.differences["P − random"]?.mean ?? .nan, 0.25, accuracy: 1e-12)
        XCTAssertEqual(summary.domainWeights["b"]?.mean ?? .nan, 0.7, accuracy: 1e-12)
        XCTAssertEqual(summary.lowestDomain, ["b", "a"])
        XCTAssert(summary.markdown.contains("| P | 75.0 | 100.0 | 50.0 |"), summary.markdown)
    }
}
