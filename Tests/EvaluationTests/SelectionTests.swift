import Evaluation
import PRM
import XCTest

final class SelectionTests: XCTestCase {
    func testMajorityVoteTiesGoToTheAnswerStatedFirst() {
        XCTAssertEqual(Selection.majorityIndex(["5", "7", "7", "5"]), 0, "5 and 7 tie; 5 came first")
        XCTAssertEqual(Selection.majorityIndex(["7", "5", "5", "7", "5"]), 1, "5 wins 3-2; its first candidate is 1")
        XCTAssertEqual(Selection.majorityIndex([nil, "3", nil, "4"]), 1, "no-answer candidates do not vote")
        XCTAssertEqual(Selection.majorityIndex([nil, nil]), 0)
        XCTAssertEqual(Selection.majority(["5", "7", "7"], correct: [true, false, false]), 0)
    }

    func testTieRulesOfScoreSelection() {
        let scores = [0.2, 0.9, 0.9, 0.9], correct = [true, false, true, true]
        XCTAssertEqual(Selection.byScore(scores, correct: correct, tie: .first), 0)
        XCTAssertEqual(Selection.byScore(scores, correct: correct, tie: .last), 1)
        XCTAssertEqual(Selection.byScore(scores, correct: correct, tie: .expected), 2.0 / 3.0, accuracy: 1e-15)
    }

    func testRandomIsTheExactExpectationOverPicks() {
        let correct = [true, false, false, true, true, false, false, false]
        let enumerated = correct.indices.map { i in correct[i] ? 1.0 : 0 }.reduce(0, +) / 8
        XCTAssertEqual(Selection.random(correct), enumerated)
        XCTAssertEqual(Selection.random(correct), 3.0 / 8)
    }

    private func binomial(_ n: Int, _ k: Int) -> Double { k < 0 || k > n ? 0 : (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) } }

    /// Averages over all C(8, n) subsets against closed forms: pass@n = 1 − C(n−k… ) and the
    /// chance that candidate i leads a random subset.
    func testScalingCurvesMatchClosedForms() {
        let correct = [false, true, false, false, true, false, false, true]
        let q = CandidateSet(dataset: "d", correct: correct, answers: correct.map { _ in nil })
        let curves = BestOfNEvaluation.scaling([q], methods: [.oracle, .first, .random])
        let n = 8, k = 3
        for size in [1, 2, 4, 8] {
            let passAtN = 1 - binomial(n - k, size) / binomial(n, size)
            XCTAssertEqual(curves["oracle"]![size]!, passAtN, accuracy: 1e-12, "pass@\(size)")
            let leads = correct.indices.filter { correct[$0] }.map { binomial(n - 1 - $0, size - 1) / binomial(n, size) }.reduce(0, +)
            XCTAssertEqual(curves["first"]![size]!, leads, accuracy: 1e-12, "first of \(size)")
            XCTAssertEqual(curves["random"]![size]!, 3.0 / 8, accuracy: 1e-12)
        }
    }

    func testAccuraciesPerDatasetAndOverall() {
        let qs = [CandidateSet(dataset: "a", correct: [true, false], answers: ["1", "2"]),
                  CandidateSet(dataset: "a", correct: [false, true], answers: ["1", "2"]),
                  CandidateSet(dataset: "b", correct: [false, false], answers: ["1", "1"])]
        let r = BestOfNEvaluation.accuracies(qs, methods: [.first, .oracle])
        XCTAssertEqual(r["first"]?["a"]?.accuracy, 0.5)
        XCTAssertEqual(r["oracle"]?["a"]?.accuracy, 1)
        XCTAssertEqual(r["oracle"]?["overall"]?.accuracy, 2.0 / 3)
        XCTAssertEqual(r["oracle"]?["b"]?.questions, 1)
    }

    func testPRMSelectionUsesTheAggregatedStepScores() {
        // Candidate 0: one weak step (p 0.27) but the higher mean (0.75); candidate 1: uniformly fair (0.73).
        let q = CandidateSet(dataset: "d", correct: [false, true], answers: [nil, nil],
                             stepLogits: ["p": [[5, 5, -1], [1, 1, 1]]])
        XCTAssertEqual(SelectionMethod.prm("p", .mean, tie: .first).pick(q, [0, 1]), 0)
        XCTAssertEqual(SelectionMethod.prm("p", .min, tie: .first).pick(q, [0, 1]), 1)
        XCTAssertEqual(SelectionMethod.prm("p", .last, tie: .first).pick(q, [0, 1]), 1)
    }

    func testStepLevelAgainstHandCount() {
        let chains: [(stepLogits: [Double], firstWrongStep: Int?)] = [
            ([2, -1, 3], 1),   // flagged at 1: hit
            ([2, 2, -1], 1),   // flagged at 2: miss
            ([1, 1], nil),     // none flagged: hit
            ([1, -0.1], nil),  // flagged: miss
            ([3], nil),        // hit
        ]
        let r = StepLevelResult.evaluate(chains)
        XCTAssertEqual(r.erroneousAccuracy, 0.5)
        XCTAssertEqual(r.correctAccuracy, 2.0 / 3)
        XCTAssertEqual(r.f1, 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3), accuracy: 1e-12)
        XCTAssertEqual(r.erroneousChains, 2)
        XCTAssertEqual(r.correctChains, 3)
    }
}
