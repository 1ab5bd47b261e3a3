import ArgumentParser
import Evaluation
import Foundation
import PRM

/// `dreamprm answers`: checks final-answer extraction and the judge against labelled answers.
struct Answers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Agreement of final-answer extraction and the judge with correctness labels (JSON).",
        discussion: """
            Reads a JSON array or JSON Lines file of {id, reference, response, label, kind} records (a \
            model's solution or answer, the reference answer, whether the model is right) and prints, as \
            JSON, how often the judge's verdict and the canonical answer agree with the label, overall and \
            by kind, and every case where they do not. `make answers` runs it on the committed cases \
            from math-verify's test suite. Exit code 2 for an unreadable file.
            """)

    @Argument(help: "The labelled answers (JSON array or JSON Lines).")
    var cases: String

    func run() throws {
        let report = AnswerAgreement.measure(try RecordReader.read(URL(fileURLWithPath: cases), LabelledAnswer.init))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}
