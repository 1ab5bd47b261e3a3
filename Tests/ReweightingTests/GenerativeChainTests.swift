import Evaluation
import Foundation
import Models
import PRM
import TestSupport
import XCTest

/// The generative PRM reads one chain as one text whether it comes as a training
/// conversation, a meta conversation or a best-of-N candidate.
final class GenerativeChainTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("chains-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private let system = "Judge each step."
    private let steps = ["Step 1: 2 + 3 = 5.", "Step 2: So the sum is 5.\n\nFinal answer: 5"]

    private func conversation(question: String, labels: [String], correct: Bool? = nil, response: String? = nil, id: String = "q1") -> [String: Any] {
        var turns: [[String: String]] = [["from": "system", "value": system], ["from": "human", "value": question]]
        for (s, l) in zip(steps, labels) { turns += [["from": "human", "value": s], ["from": "gpt", "value": l]] }
        var record: [String: Any] = ["id": id, "conversations": turns]
        record["true_false"] = correct
        record["response"] = response
        return record
    }

    private func records(_ objects: [[String: Any]]) throws -> URL {
        let url = dir.appendingPathComponent("\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: objects).write(to: url)
        return url
    }

    func testTrainingMetaAndCandidateReadTheSameTokens() throws {
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let loaded = try ModelLoader.load(url)
        let encoder = try ConversationEncoder(tokenizer: loaded.tokenizer, template: .smolLM2)
        // Training data (the released files, `dreamprm label`) head the question; best-of-N files do not.
        let train = try RecordReader.read(try records([conversation(question: "### Question:\nWhat is 2 + 3?", labels: ["+", "+"])]), ConversationRecord.init)[0]
        let meta = try RecordReader.read(try records([conversation(question: "### Question:\nWhat is 2 + 3?", labels: ["-", "+"], correct: true)]),
                                         ConversationRecord.init)[0]
        let response = steps.joined(separator: "\n\n")
        let asTrained = try encoder.encode(GenerativeChain(train))
        let asMeta = try encoder.encode(GenerativeChain(meta).judgedAllRight)
        let asCandidate = try encoder.encode(GenerativeChain(system: system, question: "What is 2 + 3?", response: response, splitter: .v1).judgedAllRight)
        XCTAssertEqual(asMeta.tokens, asTrained.tokens)
        XCTAssertEqual(asCandidate.tokens, asTrained.tokens)
        XCTAssertEqual(asCandidate.readPositions, asTrained.readPositions)
        XCTAssertEqual(asTrained.readPositions.count, 2)
        let text = loaded.tokenizer.decode(asCandidate.tokens)
        XCTAssertTrue(text.contains("### Question:\nWhat is 2 + 3?"), text)
        XCTAssertTrue(text.contains("Final answer: 5"), "the final-answer line stays in the last step: \(text)")
    }

    /// The v1 splitter ends the last step before "Final answer"; text before the first step
    /// joins it. Every character of the response is in some step.
    func testCandidateStepsCoverTheWholeResponse() {
        let chain = GenerativeChain(system: nil, question: "Q", response: "Let me see.\n\nStep 1: a.\nStep 2: b.\n\nFinal answer: 7\n", splitter: .v1)
        XCTAssertEqual(chain.steps, ["Let me see.\n\nStep 1: a.", "Step 2: b.\n\nFinal answer: 7"])
        XCTAssertEqual(GenerativeChain(system: nil, question: "### Question:\nQ", steps: [], labels: []).question, "Q")
    }

    /// `evaluate --format conversations` keeps each response's own steps instead of re-splitting
    /// its `response` text, and the question loses its heading (the PRM adds it back).
    func testConversationTestSetsKeepTheirSteps() throws {
        let file = try records([conversation(question: "### Question:\nWhat is 2 + 3?", labels: ["+", "+"], correct: true, response: "5"),
                                conversation(question: "### Question:\nWhat is 2 + 3?", labels: ["+", "-"], correct: false)])
        let set = try TestSet.read(file, format: .conversations)
        XCTAssertEqual(set.count, 1)
        XCTAssertEqual(set[0].question, "What is 2 + 3?")
        XCTAssertEqual(set[0].candidates[0], "5")
        XCTAssertEqual(set[0].candidateSteps, [steps, steps])
    }

    /// A judgement of the question turn itself is refused: the PRM judges steps.
    func testAJudgementOfTheQuestionTurnIsRefused() throws {
        let bad: [String: Any] = ["id": "x", "conversations": [["from": "human", "value": "Q and step 1"], ["from": "gpt", "value": "+"]]]
        XCTAssertThrowsError(try RecordReader.read(try records([bad]), ConversationRecord.init)) {
            XCTAssertEqual(($0 as? DataError)?.field, "conversations[1]", "\($0)")
        }
    }
}
