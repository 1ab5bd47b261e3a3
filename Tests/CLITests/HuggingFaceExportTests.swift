import Foundation
import Models
import TestSupport
import Torch
import XCTest

/// `dreamprm export RUN --hf OUT` on a run of the real SmolLM2: transformers, loading the
/// export with the README's lines, gives the step scores that `dreamprm score` gives for the
/// run (fixture made by tools/fixtures/make_hf_export_fixture.py on an export of this very run).
final class HuggingFaceExportTests: XCTestCase {
    func testTransformersScoresTheExportAsWeDo() throws {
        guard let base = try? ModelRegistry.resolve("smollm2-135m-instruct") else { throw XCTSkip("smollm2-135m-instruct is not installed") }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let workspace = try Workspace("hf-export")
        defer { workspace.remove() }
        let run = workspace.root.appendingPathComponent("run"), hf = workspace.root.appendingPathComponent("hf")
        let scores = workspace.root.appendingPathComponent("scores.jsonl")

        // The run the fixture script's docstring names (a head lr of 1 so that steps score apart).
        let trained = try Binary.run(["train", "--train_json_file", repo.appendingPathComponent("examples/v1_train.json").path,
                                      "--meta_json_file", repo.appendingPathComponent("examples/v1_meta.jsonl").path,
                                      "--iteration_num", "4", "--batch_size", "2", "--meta_batch_size", "2", "--unroll_steps", "1",
                                      "--lr", "1e-4", "--head_lr", "1", "--train_layers", "2", "--seed", "1", "--threads", "1",
                                      "--weights_path", run.path])
        XCTAssertEqual(trained.status, 0, trained.output)
        let exported = try Binary.run(["export", run.path, "--hf", hf.path])
        XCTAssertEqual(exported.status, 0, exported.output)
        let refused = try Binary.run(["export", run.path, "--hf", hf.path])
        XCTAssertEqual(refused.status, 2, "an existing OUT needs --overwrite")
        XCTAssertTrue(refused.output.contains("--overwrite"), refused.output)
        let scored = try Binary.run(["score", "--prm", run.path, "--input", fixtures.appendingPathComponent("hf_export_chains.jsonl").path,
                                     "--output", scores.path, "--threads", "1"])
        XCTAssertEqual(scored.status, 0, scored.output)

        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("hf_export_scores.json"))) as! [String: Any]
        let expected = fixture["step_scores"] as! [[Double]]
        let ours = try String(contentsOf: scores, encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["step_scores"] as! [Double]
        }
        XCTAssertEqual(ours.count, expected.count)
        for (a, b) in zip(ours, expected) { assertClose(a, b, rtol: 0, atol: 1e-3) }
        let all = expected.flatMap { $0 }
        XCTAssertGreaterThan(all.max()! - all.min()!, 0.05, "steps score apart, so 1e-3 tells a wrong export from a right one")
        let tokenizer = fixture["tokenizer"] as! [String: Int]
        XCTAssertEqual(tokenizer["texts"], 2400)
        XCTAssertEqual(tokenizer["token_mismatches"], 0, "the exported tokenizer.json tokenizes as the original")
        XCTAssertEqual(tokenizer["render_mismatches"], 0, "the exported chat template renders as the original")

        // The export holds the trained weights under Hugging Face names, not the base model's.
        let key = "model.layers.29.mlp.down_proj.weight"
        let export = try SafeTensorsCheckpoint(hf.appendingPathComponent("model.safetensors"))
        let runWeights = try SafeTensorsCheckpoint(run.appendingPathComponent("prm.safetensors"))
        let original = try ModelLoader.load(base).model.stateDict()[key]!
        let top = try export.tensor(key)
        XCTAssertEqual(try (top - runWeights.tensor("backbone." + key)).abs().max().item(), 0)
        XCTAssertGreaterThan(try (top - original).abs().max().item(), 0, "training changed the top layers")
        XCTAssertNil(export.entry("lm_head.weight"), "SmolLM2 ties its output to the embeddings")

        // Our own loader reads the export back, tokenizer included.
        let reloaded = try ModelLoader.load(hf)
        let text = "Step 1: 12 × 34 = 408.\n\nFinal answer: 408 <|im_end|>"
        XCTAssertEqual(reloaded.tokenizer.encode(text), try ModelLoader.load(base).tokenizer.encode(text))
        XCTAssertEqual(reloaded.chatTemplate, .smolLM2)
    }
}
