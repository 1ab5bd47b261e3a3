import Evaluation
import XCTest

/// The rule-based judge on answer pairs written out by hand: the verdict and the rule that
/// decided it, or nil where only an LLM judge can tell.
final class AnswerJudgeTests: XCTestCase {
    /// (response, reference, correct, rule); correct nil: undecided.
    private let cases: [(String, String, Bool?, String?)] = [
        // Option letters.
        ("Final answer: B", "B", true, "option"),
        ("Final answer: (B)", "B", true, "option"),
        ("Final answer: B.", "B", true, "option"),
        ("Final answer: option b", "B", true, "option"),
        ("Final answer: (b)", "B", true, "option"),
        ("The answer is C", "B", false, "option"),
        ("Final answer: (D) Arthur Melville", "D", true, "option"),
        ("Final answer: A", "(A)", true, "option"),
        ("Final answer: Choice C", "C", true, "option"),
        ("Final answer: 42", "B", false, "option"),
        ("\\boxed{E}", "E", true, "option"),
        // Numbers: fractions, decimals, LaTeX.
        ("Final answer: 0.5", "1/2", true, "number"),
        ("Final answer: 1/2", "0.5", true, "number"),
        ("Final answer: \\frac{1}{2}", "0.5", true, "number"),
        ("Final answer: $\\frac{3}{4}$", "0.75", true, "number"),
        ("Final answer: \\dfrac{3}{4}", "3/4", true, "number"),
        ("\\boxed{\\frac{5}{2}}", "2.5", true, "number"),
        ("Final answer: 0.3333", "1/3", false, "number"),
        ("Final answer: 0.333333", "1/3", true, "number"),
        ("Final answer: 2", "2.0", true, "number"),
        ("Final answer: -3", "-3", true, "number"),
        ("Final answer: −3", "-3", true, "number"),
        ("Final answer: 3", "-3", false, "number"),
        ("Final answer: 7", "8", false, "number"),
        ("Final answer: 1e3", "1000", false, "number"),
        // Thousands separators, currency, units, percent.
        ("Final answer: 1,000", "1000", true, "number"),
        ("Final answer: 1,234,567", "1234567", true, "number"),
        ("Final answer: $1,200", "1200", true, "number"),
        ("Final answer: 1200 dollars", "$1,200", true, "number"),
        ("Final answer: 12 cm", "12", true, "number"),
        ("Final answer: 12 meters", "12 m", true, "number"),
        ("Final answer: 45 degrees", "45", true, "number"),
        ("Final answer: 45°", "45", true, "number"),
        ("Final answer: 50%", "50", true, "number"),
        ("Final answer: 50 percent", "50%", true, "number"),
        ("Final answer: 13 apples", "12", false, "number"),
        ("Final answer: 3.14", "3.14159", false, "number"),
        ("Final answer: 3.14159", "3.14159", true, "number"),
        ("Final answer: x = 5", "5", true, "number"),
        ("Final answer: \\sqrt{3}/2", "\\frac{\\sqrt{3}}{2}", true, "number"),
        ("Final answer: \\frac{\\sqrt{2}}{2}", "0.707107", true, "number"),
        ("Final answer: the area is large", "12", false, "number"),
        ("Final answer: 2^{10}", "1024", true, "number"),
        // Boxed answers and other markers.
        ("We get \\boxed{42}. So the answer is 41", "42", true, "number"),
        ("Step 1: 6 x 7.\n\nThe answer is 42", "42", true, "number"),
        ("Answer: 42", "42", true, "number"),
        ("6 times 7 gives 42", "42", true, "number"),
        ("Final answer: \\boxed{7}", "7", true, "number"),
        // Intervals, tuples, sets.
        ("Final answer: [1, 3)", "[1,3)", true, "structure"),
        ("Final answer: (1, 3]", "[1,3)", false, "structure"),
        ("Final answer: (2, 3)", "(2,3)", true, "structure"),
        ("Final answer: x = 1 or x = 3", "{1, 3}", true, "structure"),
        ("Final answer: 3, 1", "\\{1, 3\\}", true, "structure"),
        ("Final answer: 1, 2", "{1, 3}", false, "structure"),
        // Exact strings.
        ("Final answer: Paris", "paris", true, "exact"),
        ("Final answer: Mary  Cameron", "mary cameron", true, "exact"),
        ("Final answer: yes", "Yes.", true, "exact"),
        ("Final answer: x+1", "x + 1", true, "exact"),
        // Undecided: free-form texts that differ.
        ("Final answer: London", "Paris", nil, nil),
        ("Final answer: a red square", "red", nil, nil),
        ("Final answer: no", "yes", nil, nil),
        // No answer at all.
        ("", "42", false, "no-answer"),
        ("I cannot tell from the picture.", "42", false, "no-answer"),
        // Units must agree where both sides give one.
        ("Final answer: 5 cm", "5 m", false, "unit"),
        ("Final answer: 5 cm", "5 centimeters", true, "number"),
        ("Final answer: 3 kg", "3 g", false, "unit"),
        ("Final answer: 2 hours", "2 h", true, "number"),
    ]

    /// Monte-Carlo labelling's judge reads only an answer the rollout states: (continuation,
    /// reference, the question lists options, correct, rule).
    private let explicitCases: [(String, String, Bool, Bool?, String?)] = [
        ("So we keep going with step 5.", "5", false, false, "no-answer"),
        ("Step 6: 7 + 3 = 10, and then we add 32", "42", false, false, "no-answer"),
        ("The total is 42.", "42", false, false, "no-answer"),
        ("Final answer: 42", "42", false, true, "number"),
        ("Answer: 42", "42", false, true, "number"),
        ("so it is \\boxed{42}", "42", false, true, "number"),
        ("Therefore the answer is 42", "42", false, true, "number"),
        ("The picture shows a bridge.\n(B)", "B", true, true, "option"),
        ("The picture shows a bridge.\nB", "B", false, false, "no-answer"),
        ("Final answer: 5 cm", "5 m", false, false, "unit"),
    ]

    func testLabellingNeedsAnExplicitFinalAnswer() {
        for (response, reference, options, correct, rule) in explicitCases {
            let verdict = AnswerJudge.judgeExplicit(response: response, reference: reference, questionHasOptions: options)
            XCTAssertEqual(verdict?.correct, correct, "\(response.debugDescription) vs \(reference.debugDescription)")
            XCTAssertEqual(verdict?.rule, rule, "\(response.debugDescription) vs \(reference.debugDescription)")
        }
        XCTAssertTrue(FinalAnswer.hasOptions("Which one?\n\nOptions: (A) red (B) blue"))
        XCTAssertTrue(FinalAnswer.hasOptions("Which one?\nA. red\nB. blue"))
        XCTAssertFalse(FinalAnswer.hasOptions("What is 2 + 3?"))
    }

    func testSixtyAnswerPairs() {
        XCTAssertGreaterThanOrEqual(cases.count, 60)
        for (response, reference, correct, rule) in cases {
            let verdict = AnswerJudge.judge(response: response, reference: reference)
            XCTAssertEqual(verdict?.correct, correct, "\(response.debugDescription) vs \(reference.debugDescription): \(String(describing: verdict))")
            XCTAssertEqual(verdict?.rule, rule, "\(response.debugDescription) vs \(reference.debugDescription)")
        }
    }
}
