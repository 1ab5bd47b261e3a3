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
        // Several boxed answers listed together are one answer; a later box after other words replaces
        (#"\boxed{1} and \boxed{2} and \boxed{3}"#, "{1, 2, 3}"),
        ("solutions are:\n\\[\n\\boxed{(1, 2)}, \\boxed{(2, 1)}\n\\]", "{(1, 2), (2, 1)}"),
        (#"\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}"#, "{(1, 1), (3, 3)}"),
        (#"So x = \boxed{3}. Checking again, x = \boxed{5}"#, "5"),
        // A bare answer in math delimiters is the answer, not its last number
        (#"$(3,2)$"#, "(3, 2)"),
        (#"$$f(y) = y$$"#, "y"),
        (#"$odd$"#, "odd"),
        (#"$n=1, 2, 3$"#, "{1, 2, 3}"),
        (#"\(12:00\)"#, "12:00"),
        // Named sides of assignments, lists, sets, intervals
        (#"$(p,q)=(3,2)$"#, "(3, 2)"),
        (#"$AB=4,CD=5$"#, "{4, 5}"),
        (#"$V_{1}:V_{2}=11:21$"#, "11:21"),
        (#"$A:B=1$"#, "1"),
        (#"$\frac{NO}{BO}=\frac{1}{2}$"#, "0.5"),
        (#"$-12;-11;-10$"#, "{-10, -11, -12}"),
        (#"$\boxed{\{-12, -11, -10\}}$"#, "{-10, -11, -12}"),
        (#"$(11,7)or(7,11)$"#, "{(11, 7), (7, 11)}"),
        (#"$\boxed{(7,11),\ (11,7)}$"#, "{(11, 7), (7, 11)}"),
        (#"$0<f(x)<1$"#, "(0, 1)"),
        (#"$-793 < a \le 10$"#, "(-793, 10]"),
        (#"$\pm 2021$"#, "{-2021, 2021}"),
        (#"$x = 1 \pm 2$"#, "{-1, 3}"),
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

    /// Competition-style answers: each group is one answer written several ways; groups differ.
    /// Values are checked against numbers computed by hand (√3/2 = 0.866025, 2π = 6.28319, …).
    static let mathematicalForms: [(String, [String])] = [
        ("0.866025", [#"\frac{\sqrt{3}}{2}"#, #"\sqrt{3}/2"#, #"\dfrac{\sqrt3}{2}"#, #"$\frac{1}{2}\sqrt{3}$"#, "0.8660254"]),
        ("6.28319", [#"2\pi"#, #"2 \pi"#, "2π", #"\frac{4\pi}{2}"#]),
        ("1.5708", [#"\frac{\pi}{2}"#, #"\pi/2"#, #"\dfrac{\pi}{2}"#]),
        ("2.82843", [#"2\sqrt{2}"#, #"\sqrt{8}"#, #"\sqrt[2]{8}"#, #"2 \cdot \sqrt{2}"#]),
        ("0.5", [#"\frac12"#, "1/2", "0.50", #"x = \frac{1}{2}"#, #"\boxed{\tfrac{1}{2}}"#]),
        ("1000", ["10^{3}", "10^3", #"1\,000"#, "1,000"]),
        ("3", [#"\sqrt[3]{27}"#, "27^{1/3}", "(1+2)"]),
        ("30", [#"30^\circ"#, #"30^{\circ}"#, "30°", "30 degrees"]),
        ("-4", ["-4", "−4", #"y = -4"#, "-(2+2)"]),
        ("{1, 3}", [#"\{1, 3\}"#, #"\{3,1\}"#, "1, 3", "x = 1 or x = 3", #"x=3 \text{ or } x=1"#, "3 and 1"]),
        ("{-2, 0.5}", [#"x = -2, x = \frac{1}{2}"#, #"\frac{1}{2}, -2"#]),
        ("[1, 3)", ["[1, 3)", "[1,3)", #"\left[1, 3\right)"#, #"[\frac{2}{2}, \sqrt{9})"#]),
        ("(-inf, 2]", [#"(-\infty, 2]"#, #"\left(-\infty,2\right]"#, "(-∞, 2]"]),
        ("(2, 3)", ["(2, 3)", "(2,3)", #"\left(2, 3\right)"#]),
        ("2x+1", ["2x + 1", "2x+1", #"\boxed{2x + 1}"#]),
        ("12 cm^2", ["12 cm^2"]),
    ]

    func testMathematicalAnswersNormaliseByValue() {
        for (expected, forms) in Self.mathematicalForms {
            for form in forms { XCTAssertEqual(FinalAnswer.normalize(form), expected, form) }
        }
        let canonical = Self.mathematicalForms.map(\.0)
        XCTAssertEqual(Set(canonical).count, canonical.count, "distinct answers stay distinct")
        XCTAssertNotEqual(FinalAnswer.normalize("[1, 3)"), FinalAnswer.normalize("(1, 3]"), "open and closed ends differ")
        XCTAssertNotEqual(FinalAnswer.normalize("(1, 3)"), FinalAnswer.normalize("(3, 1)"), "a pair is ordered")
        XCTAssertEqual(FinalAnswer.normalized(from: #"So the solutions are \boxed{x = 3 \text{ or } x = 1}."#), "{1, 3}")
        XCTAssertEqual(FinalAnswer.normalized(from: #"Final answer: $\frac{\sqrt{3}}{2}$"#), "0.866025")
    }
}
