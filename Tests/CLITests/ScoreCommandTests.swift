import Evaluation
import Foundation
import PRM
import TestSupport
import Torch
import XCTest

/// `dreamprm score` through the binary: ids kept, and step scores equal to one forward per
/// step prefix of each chain (the independent path).
final class ScoreCommandTests: XCTestCase {
    func testScoresEqualPerPrefixForwards() throws {
        let workspace = try Workspace("score")
        defer { workspace.remove() }
        let (train, meta) = try workspace.writeMinimalData()
        let run = workspace.root.appendingPathComponent("run")
        XCTAssertEqual(try Binary.run(workspace.trainArguments(train: train, meta: meta, output: run, iterations: 4)).status, 0)

        let chains = [#"{"id": "a", "question": "What is 2 + 3?", "steps": ["2 + 3 = 5.", "So the answer is 5."]}"#,
                      #"{"id": 7, "question": "What is 2 + 3?", "response": "Step 1: 2 + 3 = 6.\n\nStep 2: so 6.\n\nFinal answer: 6"}"#,
                      #"{"question": "What is 4 - 1?", "steps": ["4 - 1 = 3."]}"#]
        let input = workspace.root.appendingPathComponent("chains.jsonl"), output = workspace.root.appendingPathComponent("scores.jsonl")
        try chains.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let result = try Binary.run(["score", "--prm", run.path, "--input", input.path, "--output", output.path, "--threads", "1"])
        XCTAssertEqual(result.status, 0, result.output)
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0]["id"] as? String, "a")
        XCTAssertEqual(lines[1]["id"] as? Int, 7)
        XCTAssertNil(lines[2]["id"])

        let trained = try TrainedPRM.load(run)
        let prefixes = [TrainedPRM.prefixTexts(question: "What is 2 + 3?", steps: ["2 + 3 = 5.", "So the answer is 5."]),
                        ["What is 2 + 3?\n\nStep 1: 2 + 3 = 6.", "What is 2 + 3?\n\nStep 1: 2 + 3 = 6.\n\nStep 2: so 6."],
                        ["What is 4 - 1?\n\n4 - 1 = 3."]]
        for (line, texts) in zip(lines, prefixes) {
            let z = try Autograd.noGrad { try trained.prm.chainLogits(texts.map(trained.encoder.encode), mode: .perPrefix).logits.doubles() }
            assertClose(line["step_scores"] as! [Double], z.map { 1 / (1 + exp(-$0)) }, atol: 1e-5)
            XCTAssertEqual(line["score"] as! Double, Aggregation.meanLogOdds.score(logits: z), accuracy: 1e-5)
        }
    }
}
