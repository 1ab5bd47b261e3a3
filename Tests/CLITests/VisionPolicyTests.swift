import Foundation
import Imaging
import Models
import PRM
import Pipeline
import TestSupport
import Torch
import XCTest

/// A vision-language model as the local policy, on the tiny random Qwen2-VL and InternVL saved by
/// transformers (tools/fixtures/make_vlm_fixtures.py): greedy samples are transformers' tokens;
/// a prompt's image head runs once and its text after it in blocks on the right (M-RoPE)
/// positions; `candidates` and `label` read the questions' images and refuse ones that are missing.
final class VisionPolicyTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures").standardized
    private var workspace: Workspace!

    override func setUpWithError() throws {
        Runtime.threadCount = 1
        workspace = try Workspace("vision-policy")
    }
    override func tearDown() { workspace.remove() }

    func testGreedySamplesWithAnImageAreTransformersTokens() throws {
        for family in ["tiny-qwen2-vl", "tiny-internvl"] {
            let model = fixtures.appendingPathComponent(family)
            let policy = try LocalPolicy(model.path)
            XCTAssertTrue(policy.readsImages)
            let request = PolicyRequest(userTurn: "What is 7 times 8?", image: model.appendingPathComponent("a.jpg"), count: 2,
                                        sampling: SamplingParameters(maxTokens: 8))
            let generated = try SafeTensorsFile(model.appendingPathComponent("reference.safetensors")).tensor("single.generated")
            let expected = try VisionLanguageBackbones.load(model).tokenizer.decode(generated.toArray(Int64.self).map(Int.init))
            XCTAssertEqual(try policy.sample(request), [expected, expected], family)
        }
    }

    /// The head (user turn with the image) through the vision-language prefill, the assistant's
    /// text after it in 64-token blocks: the last logits equal one forward of the whole prompt,
    /// and bit for bit those of a cache that never saw the shorter prompt.
    func testImageHeadThenTextBlocksEqualOneForwardOfTheWholePrompt() throws {
        let model = fixtures.appendingPathComponent("tiny-qwen2-vl")
        let vision = try VisionLanguageBackbones.load(model)
        let image = try ImageFile.read(model.appendingPathComponent("a.jpg"))
        let headText = vision.userPrompt("What is 7 times 8?", imageCount: 1)
        let (headIDs, headPrefill) = try vision.prepare(headText, images: [image])
        let head = PromptHead(key: "a.jpg", length: headIDs.count, prefill: try XCTUnwrap(headPrefill))
        let short = (1...8).map { "Step \($0): seven eights are fifty-six, \($0) times.\n\n" }.joined()
        let long = short + (9...20).map { "Step \($0): check it once more, \($0) times.\n\n" }.joined()
        func prompt(_ prefix: String) -> [Int] { headIDs + vision.tokenizer.encode(prefix, addBOS: false) }
        XCTAssertGreaterThan(prompt(long).count - prompt(short).count, 64, "the long prompt runs more than one block past the short one")

        let warm = PromptCache()
        let (_, _, shift) = try Autograd.noGrad { try warm.prefill(prompt(short), model: vision.language, head: head) }
        XCTAssertNotEqual(shift, 0, "Qwen2-VL's image moves the positions of the text after it")
        let (cache, last, longShift) = try Autograd.noGrad { try warm.prefill(prompt(long), model: vision.language, head: head) }
        XCTAssertEqual([cache.length, longShift], [prompt(long).count, shift])
        XCTAssertGreaterThanOrEqual(warm.reusedTokens, headIDs.count + 64, "the head and whole shared blocks are reused")

        let (wholeIDs, wholePrefill) = try vision.prepare(headText + long, images: [image])
        XCTAssertEqual(wholeIDs, prompt(long))
        let whole = try Autograd.noGrad {
            try XCTUnwrap(wholePrefill)(Tensor(wholeIDs.map(Int64.init), shape: [1, wholeIDs.count]), nil, KVCache(layers: vision.language.config.layerCount))
        }
        XCTAssertEqual(whole.positionShifts, [shift])
        try assertClose(last, whole.logits.select(dim: 1, index: -1), rtol: 1e-4, atol: 1e-4)
        let (_, fresh, _) = try Autograd.noGrad { try PromptCache().prefill(prompt(long), model: vision.language, head: head) }
        try assertClose(last, fresh, rtol: 0, atol: 0)
        // Back to the head alone (a fresh chain after rollouts): its own last logits.
        let (_, headAlone, _) = try Autograd.noGrad { try warm.prefill(headIDs, model: vision.language, head: head) }
        let (_, headFresh, _) = try Autograd.noGrad { try PromptCache().prefill(headIDs, model: vision.language, head: head) }
        try assertClose(headAlone, headFresh, rtol: 0, atol: 0)

        // Another image of the same size (the negative): the same ids under another key, so nothing is reused.
        let negative = RGBImage(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
        let (otherIDs, otherPrefill) = try vision.prepare(headText, images: [negative])
        XCTAssertEqual(otherIDs, headIDs)
        let other = PromptHead(key: "negative", length: otherIDs.count, prefill: try XCTUnwrap(otherPrefill))
        let (_, otherLast, _) = try Autograd.noGrad { try warm.prefill(prompt(long), model: vision.language, head: other) }
        let (_, otherFresh, _) = try Autograd.noGrad { try PromptCache().prefill(prompt(long), model: vision.language, head: other) }
        try assertClose(otherLast, otherFresh, rtol: 0, atol: 0)
        XCTAssertGreaterThan(try (otherLast - last).abs().max().item(), 1e-4, "the image reaches the logits")
    }

    /// Rollouts from one question's step prefixes, asked in any order, are the samples a fresh
    /// policy gives, whichever image came before.
    func testImageRolloutsDoNotDependOnHistory() throws {
        let model = fixtures.appendingPathComponent("tiny-qwen2-vl")
        let sampling = SamplingParameters(maxTokens: 6, temperature: 1, topP: 0.95, seed: 3)
        func request(_ image: String, _ prefix: String) -> PolicyRequest {
            PolicyRequest(userTurn: "What is 7 times 8?", image: model.appendingPathComponent(image), assistantPrefix: prefix, count: 3, sampling: sampling)
        }
        let (first, second) = ("Step 1: seven eights.\n\n", "Step 1: seven eights.\n\nStep 2: fifty-six.\n\n")
        let policy = try LocalPolicy(model.path)
        _ = try policy.sample(request("a.jpg", first))
        let afterFirst = try policy.sample(request("a.jpg", second))
        let otherImage = try policy.sample(request("b.png", second))
        let fresh = try LocalPolicy(model.path)
        XCTAssertEqual(afterFirst, try fresh.sample(request("a.jpg", second)))
        XCTAssertEqual(otherImage, try LocalPolicy(model.path).sample(request("b.png", second)))
        XCTAssertEqual(try policy.sample(request("a.jpg", first)), try fresh.sample(request("a.jpg", first)))
    }

    private func write(_ name: String, _ lines: [String]) throws -> URL {
        let url = workspace.root.appendingPathComponent(name)
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// `candidates` and `label` with a vision-language policy on image questions (paths relative
    /// to the data file); a missing image is exit 2 naming file, record and field before any
    /// sampling; a text policy says up front that it will not see the images.
    func testCandidatesAndLabelWithAVisionLanguagePolicy() throws {
        let model = fixtures.appendingPathComponent("tiny-qwen2-vl")
        for name in ["a.jpg", "b.png"] {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: workspace.root.appendingPathComponent(name))
        }
        let questions = try write("questions.jsonl", [
            #"{"id": "a", "question": "What is 7 times 8?", "answer": "56", "dataset": "products", "image_path": "a.jpg"}"#,
            #"{"id": "b", "question": "Which colour is it?", "answer": "B", "dataset": "colours", "image_path": "b.png"}"#,
        ])
        let flags = ["--policy", model.path, "--prompt", "plain", "--max_tokens", "6", "--seed", "2", "--threads", "1"]
        let out = workspace.root.appendingPathComponent("candidates.jsonl")
        // The structured prompt does not fit the tiny model's context: a failure before the first
        // record, which leaves nothing a fresh run would need --resume for.
        let tooLong = try Binary.run(["candidates", "--questions", questions.path, "--n", "2", "--output", out.path, "--policy", model.path,
                                      "--max_tokens", "6", "--threads", "1"])
        XCTAssertNotEqual(tooLong.status, 0, tooLong.output)
        XCTAssertTrue(tooLong.output.contains("512-token context"), tooLong.output)
        let candidates = try Binary.run(["candidates", "--questions", questions.path, "--n", "2", "--output", out.path] + flags)
        XCTAssertEqual(candidates.status, 0, candidates.output)
        XCTAssertFalse(candidates.output.contains("will not see"), candidates.output)
        let sets = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(sets.map { $0["image_path"] as? String }, ["a.jpg", "b.png"])
        XCTAssertEqual(sets.map { ($0["candidates"] as? [String])?.count }, [2, 2])

        // Hand-written chains (the tiny model writes no steps); rollouts see the image.
        let chains = try write("chains.jsonl", [
            #"{"id": "a", "question": "What is 7 times 8?", "answer": "56", "dataset": "products", "image_path": "a.jpg", "candidates": ["Step 1: 7 times 8 is 56.\n\nStep 2: So 56.\n\nFinal answer: 56"], "true_false": [true]}"#,
        ])
        let labels = workspace.root.appendingPathComponent("labels.json")
        let label = try Binary.run(["label", "--candidates", chains.path, "--output", labels.path, "--max_rollouts", "4"] + flags)
        XCTAssertEqual(label.status, 0, label.output)
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: labels)) as! [[String: Any]]
        XCTAssertEqual(records.count, MonteCarloLabelling.steps(of: "Step 1: 7 times 8 is 56.\n\nStep 2: So 56.\n\nFinal answer: 56")?.count, "one record per step prefix")
        XCTAssertEqual(Set(records.map { $0["times"] as? Int }), [4])
        XCTAssertEqual(Set(records.map { $0["image_path"] as? String }), ["a.jpg"])

        let missing = try write("missing.jsonl", [
            #"{"id": "a", "question": "What is 7 times 8?", "answer": "56", "dataset": "products", "image_path": "a.jpg"}"#,
            #"{"id": "c", "question": "And this one?", "answer": "1", "dataset": "products", "image_path": "gone.png"}"#,
        ])
        let refused = workspace.root.appendingPathComponent("refused.jsonl")
        let bad = try Binary.run(["candidates", "--questions", missing.path, "--n", "1", "--output", refused.path] + flags)
        XCTAssertEqual(bad.status, 2, bad.output)
        for part in [missing.path, "record 1", "image_path", "gone.png"] { XCTAssertTrue(bad.output.contains(part), "\(part): \(bad.output)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused.path), "nothing sampled before the images were checked")

        let text = try Binary.run(["candidates", "--questions", questions.path, "--n", "1", "--output", workspace.root.appendingPathComponent("text.jsonl").path,
                                   "--policy", workspace.model.path, "--prompt", "plain", "--max_tokens", "4", "--threads", "1"])
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("is a text-only policy, so it will not see them"), text.output)
    }
}
