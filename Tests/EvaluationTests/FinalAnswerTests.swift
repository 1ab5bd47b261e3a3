import Evaluation
import XCTest

final class FinalAnswerTests: XCTestCase {
    /// (chain text, expected normalised answer or nil).
    static let cases: [(String, String?)] = [
        // \boxed{} wins over everything, braces balanced
        (#"So the total is \boxed{42}."#, "42"),
        (#"First \boxed{3} then \boxed{5}"#, "5"),
        (#"\boxed{\frac{3}{4}}"#, "0.75"),
        (#"\boxed{\dfrac{1}{2}}"#, "0.5"),
        (#"The answer is $\boxed{1,234}$"#, "1234"),
        (#"\boxed{\text{(B)}}"#, "B"),
        (#"\boxed{x = 7}"#, "7"),
        (#"\boxed{-3}"#, "-3"),
        (#"\fbox{12}"#, "12"),
        (#"\boxed{{2}}"#, "2"),
        // Final answer: / Answer: / the answer is
        ("Step 1: 3 x 4 = 12.\nFinal answer: 12", "12"),
        ("Final Answer: The final answer is 8", "8"),
        ("final answer is: 1,200 dollars", "1200"),
        ("Final answer: $1,200.", "1200"),
        ("Final answer: 12 apples", "12"),
        ("Final answer: 3/4", "0.75"),
        ("Final answer: 0.75", "0.75"),
        ("Final answer: 0.750", "0.75"),
        ("Final answer: 50%", "50"),
        ("Final answer: 50 percent", "50"),
        ("Final answer: (C)", "C"),
        ("Final answer: C", "C"),
        ("Final answer: C. 42 km", "C"),
        ("Final answer: Option D", "D"),
        ("Final answer: option (b)", "B"),
        ("Final answer: b)", "B"),
        ("Final answer: (e) none of these", "E"),
        ("Final answer: 138/583", "0.236707"),
        ("Final answer: −5", "-5"),
        ("Final answer: -0.5", "-0.5"),
        ("Final answer: 1,000,000", "1000000"),
        ("Final answer: 7.", "7"),
        ("Final answer: €15", "15"),
        ("Final answer: 00:34:28", "00:34:28"),
        ("Final answer: Paris", "paris"),
        ("Final answer:  The   Eiffel Tower ", "the eiffel tower"),
        ("Answer: B", "B"),
        ("[Reasoning]\n1. The cartoon shows ...\n\nAnswer: B", "B"),
        ("answer: 17", "17"),
        ("Therefore the answer is 9.", "9"),
        ("So the answer is (A).", "A"),
        ("The answer is x = 4", "4"),
        ("Final answer: 2.5 hours", "2.5"),
        ("Final answer: 12 cm^2", nil),  // not a plain number: kept as text below
        // last-number fallback
        ("He has 3 apples and buys 4 more, so 7", "7"),
        ("Total: 1,250 people came.", "1250"),
        ("Half of it is 1/2", "0.5"),
        ("No numbers here at all", nil),
        ("", nil),
        // plain answers (a response field)
        ("D", "D"),
        ("(A)", "A"),
        ("A 5 cm rope", "5"),
        ("-12", "-12"),
        ("3.0", "3"),
        ("$\\frac{5}{2}$", "2.5"),
        ("Final answer: \\$20", "20"),
        ("Final answer: 20\\%", "20"),
    ]

    func testExtractionAndNormalisation() {
        XCTAssertGreaterThanOrEqual(Self.cases.count, 50)
        for (text, expected) in Self.cases where !text.contains("cm^2") {
            XCTAssertEqual(FinalAnswer.normalized(from: text), expected, "\(text.debugDescription)")
        }
        XCTAssertEqual(FinalAnswer.normalized(from: "Final answer: 12 cm^2"), "12 cm^2")
    }

    func testEqualAnswersInDifferentFormsNormaliseTogether() {
        let forms = ["1,200", "$1200", "1200 dollars", "\\boxed{1200}", "1200.0", "Final answer: 1200."]
        XCTAssertEqual(Set(forms.map { FinalAnswer.normalized(from: $0) }), ["1200"])
        XCTAssertEqual(Set(["3/4", "0.75", "\\frac{3}{4}", "75/100"].map { FinalAnswer.normalize($0) }), ["0.75"])
        XCTAssertEqual(Set(["(B)", "B", "b)", "Option B", "B. 12"].map { FinalAnswer.normalize($0) }), ["B"])
    }
}
