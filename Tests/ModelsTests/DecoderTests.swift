import Foundation
import Models
import TestSupport
import Tokenizers
import Torch
import XCTest

/// Our Llama/Qwen2 decoder against transformers on tiny random checkpoints (tools/fixtures/make_model_fixtures.py).
final class DecoderTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private func reference(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(fixtureURL("tiny-\(name)/reference.safetensors", bundle: .module))
    }

    /// Logits at every real (unpadded) position of a padded batch equal transformers'.
    private func checkPaddedBatches(_ name: String) throws {
        let model = try ModelLoader.loadHuggingFaceWeights(fixtureURL("tiny-\(name)", bundle: .module))
        let ref = try reference(name)
        for side in ["left", "right"] {
            let ids = try ref.tensor("\(side).input_ids"), mask = try ref.tensor("\(side).attention_mask")
            let want = try ref.tensor("\(side).logits")
            let got = try Autograd.noGrad { try model(.tokens(ids), attentionMask: mask) }
            XCTAssertEqual(got.shape, want.shape)
            let real = try mask.toArray(Int64.self)
            let g = try got.doubles(), w = try want.doubles(), v = want.size(2)
            for (i, flag) in real.enumerated() where flag == 1 {
                assertClose(Array(g[(i * v)..<((i + 1) * v)]), Array(w[(i * v)..<((i + 1) * v)]), rtol: 1e-4, atol: 1e-4,
                            "\(name) \(side)-padded logits at flat position \(i)")
            }
        }
    }

    private func checkCacheSteps(_ name: String) throws {
        let model = try ModelLoader.loadHuggingFaceWeights(fixtureURL("tiny-\(name)", bundle: .module))
        let ref = try reference(name)
        let seq = try ref.tensor("cache.input_ids"), want = try ref.tensor("cache.step_logits")
        let cache = KVCache(layers: model.config.layerCount)
        var steps: [Tensor] = []
        try Autograd.noGrad {
            steps.append(try model(.tokens(seq.narrow(dim: 1, start: 0, length: 6)), cache: cache).select(dim: 1, index: -1))
            for t in 6..<10 {
                steps.append(try model(.tokens(seq.narrow(dim: 1, start: t, length: 1)), cache: cache).select(dim: 1, index: -1))
            }
        }
        XCTAssertEqual(cache.length, 10)
        try assertClose(Tensor.cat(steps, dim: 0), want, rtol: 1e-4, atol: 1e-4, "\(name) KV-cache decoding")
    }

    func testTinyLlamaMatchesTransformersOnPaddedBatches() throws { try checkPaddedBatches("llama") }
    func testTinyQwen2MatchesTransformersOnPaddedBatches() throws { try checkPaddedBatches("qwen2") }
    func testTinyLlamaKVCacheDecodingMatchesTransformers() throws { try checkCacheSteps("llama") }
    func testTinyQwen2KVCacheDecodingMatchesTransformers() throws { try checkCacheSteps("qwen2") }

    func testConfigsDecodeTheirSpecialties() throws {
        let llama = try DecoderConfig(configJSON: fixtureURL("tiny-llama/config.json", bundle: .module))
        XCTAssertEqual(llama.ropeScaling, .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32))
        XCTAssertFalse(llama.attentionBias)
        XCTAssertFalse(llama.tieWordEmbeddings)
        let qwen = try DecoderConfig(configJSON: fixtureURL("tiny-qwen2/config.json", bundle: .module))
        XCTAssertTrue(qwen.attentionBias)
        XCTAssertTrue(qwen.tieWordEmbeddings)
        XCTAssertEqual(qwen.ropeTheta, 1_000_000)
        XCTAssertEqual(qwen.kvHeadCount, 2)
    }

    func testInputEmbeddingsAndExplicitPositionsGiveTheSameLogits() throws {
        let model = try ModelLoader.loadHuggingFaceWeights(fixtureURL("tiny-qwen2", bundle: .module))
        let ids = try Tensor([Int64(5), 17, 99, 3], shape: [1, 4])
        try Autograd.noGrad {
            let a = try model(.tokens(ids))
            let b = try model(.embeddings(model.embed(ids)), positions: Tensor.arange(0, 4).unsqueeze(0))
            try assertClose(a, b, rtol: 1e-6, atol: 1e-6)
        }
    }

    func testRotaryFrequenciesOfEveryScalingTypeMatchTransformers() throws {
        struct Case: Decodable {
            let head_dim: Int
            let max_positions: Int
            let sequence_length: Int?
            let inv_freq: [Double]
            let attention_scaling: Double
        }
        let cases = try JSONDecoder().decode([String: Case].self, from: Data(contentsOf: fixtureURL("rope.json", bundle: .module)))
        let scalings: [String: RopeScaling] = [
            "default": .none, "linear": .linear(factor: 4),
            "llama3": .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192),
            "yarn": .yarn(factor: 4, originalMaxPositions: 32768, betaFast: 32, betaSlow: 1, attentionFactor: nil),
            "dynamic": .dynamic(factor: 2, originalMaxPositions: 4096),
        ]
        let bases = ["default": 10000.0, "linear": 10000, "llama3": 500000, "yarn": 1_000_000, "dynamic": 10000]
        XCTAssertEqual(Set(cases.keys), Set(scalings.keys))
        for (name, c) in cases {
            let (inv, scale) = RotaryEmbedding.frequencies(dim: c.head_dim, base: bases[name]!, scaling: scalings[name]!,
                                                          sequenceLength: c.sequence_length)
            assertClose(inv, c.inv_freq, rtol: 1e-6, atol: 0, "\(name) inverse frequencies")
            XCTAssertEqual(scale, c.attention_scaling, accuracy: 1e-9, name)
        }
    }
}
