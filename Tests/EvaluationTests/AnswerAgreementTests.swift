import Evaluation
import PRM
import TestSupport
import XCTest

/// Final-answer extraction and the judge against real model answers with reference answers and
/// correctness labels: math-verify's NuminaMath / OpenThoughts cases, written out by
/// tools/fixtures/make_answer_agreement_fixture.py.
final class AnswerAgreementTests: XCTestCase {
    /// The cases left to disagree, each for a reason that is not extraction or the canonical form.
    static let understoodDisagreements: [String: String] = [
        "numina_cases-3": "a set of |z| against a union of intervals: needs a computer algebra system",
        "numina_cases-9": "assignments 'p=5,q=2;p=7,q=2' against pairs '(5,2),(7,2)': the order of p, q is in the question",
        "numina_cases-24": "the reference itself is malformed (doubled backslashes, unclosed \\boxed)",
        "open_thoughts-24": "two polynomials in another form: needs expansion",
        "yujianll-4": "two different sums: undecided, left to an LLM judge",
        "yujianll-5": "the same sum with its factors swapped: needs commutativity",
        "yujianll-9": "1 - 1/e against 1 + 1/e is labelled equal; the values differ",
        "yujianll-12": "12:00 against 1:00: undecided, left to an LLM judge",
    ]

    func testRealModelAnswersAgreeWithTheirLabels() throws {
        let cases = try RecordReader.read(fixtureURL("real_model_answers.jsonl", bundle: .module), LabelledAnswer.init)
        XCTAssertEqual(cases.count, 73)
        let report = AnswerAgreement.measure(cases)
        XCTAssertEqual(report.total.judgeAgrees, 65, "judge agreement")
        XCTAssertEqual(report.total.voteAgrees, 67, "canonical-form agreement")
        XCTAssertEqual(Set(report.disagreements.map(\.id)), Set(Self.understoodDisagreements.keys))
        XCTAssertEqual(report.byKind.values.map(\.cases).reduce(0, +), 73)
    }

    func testAMalformedCaseNamesItsFieldAndRecord() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("answers-\(UUID()).jsonl")
        try Data("{\"reference\": \"1\", \"response\": \"1\", \"label\": true}\n{\"reference\": \"1\", \"response\": \"2\"}\n".utf8)
            .write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertThrowsError(try RecordReader.read(file, LabelledAnswer.init)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("label") && message.contains("record 1"), message)
        }
    }
}
