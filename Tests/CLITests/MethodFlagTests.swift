import Evaluation
import Foundation
import PRM
import TestSupport
import XCTest

/// Flags that promise more than they do: refused before anything is written, or accepted as
/// the original projects accept them; and `score` on a generative run.
final class MethodFlagTests: XCTestCase {
    private var workspace: Workspace!

    override func setUpWithError() throws { workspace = try Workspace("method-flags") }
    override func tearDown() { workspace.remove() }

    func testFlagsThatCannotWorkAreRefusedBeforeAnythingIsWritten() throws {
        let (train, meta) = try workspace.writeMinimalData()
        let cases: [([String], String)] = [
            (["--hypergradient", "reverse"], "hypergradient"),
            (["--reweighting", "instance-table", "--hypergradient_batch_per_domain", "2"], "hypergradient_batch_per_domain"),
            (["--reweighting", "instance-table", "--soft_labels"], "soft_labels"),
            (["--reweighting", "instance-table", "--batch_strata", "label", "--meta_batch_size", "2"], "batch_strata"),
            (["--batch_strata", "label"], "meta_batch_size"),
            (["--meta_loss", "rank"], "meta_loss"),
            (["--meta_loss", "hinge"], "meta_loss"),
            (["--batch_strata", "label", "--meta_batch_size", "2", "--hypergradient_batch_per_domain", "1"],
             "hypergradient_batch_per_domain"),
            (["--reweighting", "instance-net", "--head_init", "reference"], "head_init"),
            (["--activation_function", "ReLU"], "activation_function"),
            (["--loss_target", "+"], "loss_target"),
        ]
        for (i, (extra, flag)) in cases.enumerated() {
            let output = workspace.root.appendingPathComponent("refused-\(i)")
            let result = try Binary.run(workspace.trainArguments(train: train, meta: meta, output: output, iterations: 2, extra: extra))
            XCTAssertEqual(result.status, 2, "\(extra): \(result.output)")
            XCTAssertTrue(result.output.contains("--\(flag)"), "\(extra): \(result.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(extra): nothing is written")
        }
    }

    /// DreamPRM-1.5's command line runs as it is (`--retrain True`, and flags that do nothing
    /// here with a notice); the run reports which reference its defaults follow; `dreamprm score`
    /// reads the generative run and gives what `evaluate`'s scoring gives.
    func testOriginalCommandLinesRunAndScoreReadsTheRun() throws {
        func conversation(_ id: String, _ step: String, _ label: String, correct: Bool? = nil) -> String {
            var record: [String: Any] = ["id": id, "conversations": [["from": "system", "value": "Judge each step."],
                                                                     ["from": "human", "value": "### Question:\nIs it fine?"],
                                                                     ["from": "human", "value": step], ["from": "gpt", "value": label]]]
            record["true_false"] = correct
            return String(decoding: try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        }
        let train = workspace.root.appendingPathComponent("train.jsonl"), meta = workspace.root.appendingPathComponent("meta.jsonl")
        try [conversation("a", "It is fine.", "+"), conversation("b", "It is broken.", "-")].joined(separator: "\n")
            .write(to: train, atomically: true, encoding: .utf8)
        try [conversation("m", "It is fine.", "+", correct: true)].joined(separator: "\n").write(to: meta, atomically: true, encoding: .utf8)
        let run = workspace.root.appendingPathComponent("run")
        let result = try Binary.run(workspace.trainArguments(train: train, meta: meta, output: run, iterations: 2, extra: [
            "--reweighting", "instance-table", "--retrain", "True", "--momentum", "0.9", "--strategy", "ddp", "--local_rank", "0"]))
        XCTAssertEqual(result.status, 0, result.output)
        for flag in ["momentum", "strategy", "local_rank"] {
            XCTAssertTrue(result.output.contains("notice: --\(flag) is DreamPRM-1.5's and does nothing here"), result.output)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(config["baseline"] as? Bool, true, "--retrain True is --retrain")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("run_report.json"))) as! [String: Any]
        XCTAssertTrue("\(report["defaultsFollow"] ?? "")".contains("DreamPRM-1.5"), "\(report)")

        let off = try Binary.run(workspace.trainArguments(train: train, meta: meta, output: workspace.root.appendingPathComponent("off"), iterations: 1,
                                                          extra: ["--reweighting", "instance-table", "--retrain=false"]))
        XCTAssertEqual(off.status, 0, off.output)
        let offConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: workspace.root.appendingPathComponent("off/config.json"))) as! [String: Any]
        XCTAssertEqual(offConfig["baseline"] as? Bool, false)

        let chains = workspace.root.appendingPathComponent("chains.jsonl"), scores = workspace.root.appendingPathComponent("scores.jsonl")
        let response = "Step 1: It is fine.\n\nStep 2: It is whole.\n\nFinal answer: fine"
        try #"{"id": "x", "question": "Is it fine?", "response": "Step 1: It is fine.\n\nStep 2: It is whole.\n\nFinal answer: fine"}"#
            .write(to: chains, atomically: true, encoding: .utf8)
        let scored = try Binary.run(["score", "--prm", run.path, "--input", chains.path, "--output", scores.path, "--threads", "1"])
        XCTAssertEqual(scored.status, 0, scored.output)
        let line = try JSONSerialization.jsonObject(with: Data(contentsOf: scores)) as! [String: Any]
        guard case .generative(let trained) = try LoadedPRM.load(run) else { return XCTFail("not a generative run") }
        let expected = try trained.stepLogits(question: "Is it fine?", candidates: [response], splitter: .v1)[0].map { 1 / (1 + Foundation.exp(-$0)) }
        assertClose(try XCTUnwrap(line["step_scores"] as? [Double]), expected, rtol: 1e-6)
    }
}
