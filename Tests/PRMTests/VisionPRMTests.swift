import Foundation
import Imaging
import Models
import NN
@testable import PRM
import TestSupport
import Tokenizers
import Torch
import XCTest

/// PRMs on the tiny random Qwen2-VL and InternVL saved by transformers: keyed image tokens in
/// a shared-prefix trie (and the generative PRM's one forward) give what the models' own
/// forwards, checked against transformers in ModelsTests, give on the same prompts.
final class VisionPRMTests: XCTestCase {
    override func setUp() { Runtime.threadCount = 1 }

    private let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ModelsTests/Fixtures").standardized
    private let pictures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ImagingTests/Fixtures").standardized

    private func qwenPRM() throws -> (ScalarHeadPRM, Qwen2VLBackbone, PromptEncoder) {
        let backbone = try Qwen2VLBackbone.load(models.appendingPathComponent("tiny-qwen2-vl"))
        Runtime.manualSeed(3)
        let prm = try ScalarHeadPRM(backbone: backbone.language, input: .logits, initialization: .reference)
        prm.images = PromptImages(backbone: backbone, longestSide: PromptImages.v1LongestSide)
        return (prm, backbone, PromptEncoder(tokenizer: backbone.tokenizer, template: backbone.chatTemplate, images: prm.images))
    }

    /// z of one prompt through Qwen2VLModel's own forward (image pads, M-RoPE from get_rope_index).
    private func reference(_ prm: ScalarHeadPRM, _ backbone: Qwen2VLBackbone, text: String, image: URL) throws -> Double {
        let picture = try ImageFile.read(image).limitingLongestSide(to: PromptImages.v1LongestSide)
        let (ids, patches) = try backbone.encode(backbone.userPrompt(text, imageCount: 1), images: [picture])
        let hidden = try backbone.model.hiddenStates(ids: Tensor(ids.map(Int64.init), shape: [1, ids.count]), images: patches).hidden
        return try prm.headLogits(hidden.narrow(dim: 1, start: ids.count - 1, length: 1).squeeze(1)).item()
    }

    func testScalarPRMWithImagesScoresSharedPrefixesAsTheModelsOwnForward() throws {
        let (prm, backbone, encoder) = try qwenPRM()
        let a = models.appendingPathComponent("tiny-qwen2-vl/a.jpg"), b = models.appendingPathComponent("tiny-qwen2-vl/b.png")
        let texts = ["What is shown?\n\nStep 1: a square.", "What is shown?\n\nStep 1: a square.\n\nStep 2: it is red.",
                     "What is shown?\n\nStep 1: a square.\n\nStep 2: it is red.\n\nFinal answer: red"]
        let chain = try texts.map { try encoder.encode($0, image: a) }
        XCTAssertTrue(chain.allSatisfy { $0.contains { $0 < 0 } }, "the prompts hold image keys")
        let expected = try Autograd.noGrad { try texts.map { try reference(prm, backbone, text: $0, image: a) } }
        try Autograd.noGrad {
            let packed = try prm.chainLogits(chain, mode: .sharedPrefix)
            assertClose(try packed.logits.doubles(), expected, atol: 1e-5, "shared-prefix trie with the image in the shared prefix")
            XCTAssertLessThan(packed.tokensProcessed, packed.perPrefixTokens, "the image's tokens run once for the chain")
            assertClose(try prm.chainLogits(chain, mode: .perPrefix).logits.doubles(), expected, atol: 1e-5, "per-prefix forwards")
            // A second chain on another image in the same trie: its image tokens are nodes of their own.
            let other = try encoder.encode(texts[0], image: b)
            let both = try prm.packedLogits(chain + [other]).logits.doubles()
            assertClose(both, expected + [try reference(prm, backbone, text: texts[0], image: b)], atol: 1e-5, "two images in one trie")
        }
    }

    /// Two different images of the same token count share no trie node (their keys differ).
    func testImagesWithEqualTokenCountsDoNotMerge() throws {
        let (prm, backbone, encoder) = try qwenPRM()
        let first = pictures.appendingPathComponent("grey.png"), second = pictures.appendingPathComponent("palette.png")
        XCTAssertEqual(try backbone.imageLayout(ImageFile.read(first)), try backbone.imageLayout(ImageFile.read(second)), "precondition: equal grids")
        let sequences = try [first, second].map { try encoder.encode("Which colour?", image: $0) }
        XCTAssertEqual(sequences[0].filter { $0 < 0 }.count, sequences[1].filter { $0 < 0 }.count)
        XCTAssertTrue(Set(sequences[0].filter { $0 < 0 }).isDisjoint(with: sequences[1].filter { $0 < 0 }))
        let expected = try Autograd.noGrad { try [first, second].map { try reference(prm, backbone, text: "Which colour?", image: $0) } }
        XCTAssertGreaterThan(abs(expected[0] - expected[1]), 1e-6, "the images give different scores")
        try Autograd.noGrad { assertClose(try prm.packedLogits(sequences).logits.doubles(), expected, atol: 1e-5) }
    }

    /// A run in bf16 converts the frozen towers too: their features stay close to float32's.
    func testTowersRunInBFloat16() throws {
        for family in ["tiny-qwen2-vl", "tiny-internvl"] {
            let backbone = try VisionLanguageBackbones.load(models.appendingPathComponent(family))
            let image = try ImageFile.read(models.appendingPathComponent("\(family)/b.png"))
            let full = try Autograd.noGrad { try backbone.imageFeatures(image) }
            try backbone.to(.cpu, dtype: .bfloat16)
            let half = try Autograd.noGrad { try backbone.imageFeatures(image) }
            XCTAssertEqual(half.dtype, .bfloat16, family)
            XCTAssertEqual(half.shape, full.shape, family)
            let error = try (half.to(.float32) - full).abs().max().item(), scale = try full.abs().max().item()
            XCTAssertLessThan(error, 0.05 * scale, "\(family): bf16 features within 5 % of the largest float32 one")
        }
    }

    /// The generative PRM reads an InternVL conversation's image on its first user turn; its
    /// log-probabilities at the read positions are the log-softmax of InternVLModel's logits.
    func testGenerativePRMWithAnImageMatchesInternVLsForward() throws {
        let backbone = try InternVLBackbone.load(models.appendingPathComponent("tiny-internvl"))
        backbone.processor.maxTiles = 4
        let images = PromptImages(backbone: backbone, longestSide: nil)
        let encoder = try ConversationEncoder(tokenizer: backbone.tokenizer, template: backbone.chatTemplate, images: images)
        let prm = GenerativePRM(backbone: backbone.language, encoder: encoder)
        prm.images = images
        let image = models.appendingPathComponent("tiny-internvl/b.png")
        let conversation = try encoder.encode(GenerativeChain(system: "Judge each step.", question: "What is 2 + 3?", steps: ["2 + 3 = 5", "So 5."],
                                                              labels: [true, true]), image: image)
        XCTAssertEqual(conversation.readPositions.count, 2)
        // The same conversation through InternVLBackbone's own expansion and InternVLModel's forward.
        let messages: [ChatMessage] = [.system("Judge each step."), .user(InternVLBackbone.imagePlaceholder + "### Question:\nWhat is 2 + 3?"),
                                       .user("2 + 3 = 5"), .assistant("+"), .user("So 5."), .assistant("+")]
        let tiles = backbone.processor(try ImageFile.read(image))
        XCTAssertGreaterThan(tiles.shape[0], 1, "tiles and a thumbnail")
        let ids = try backbone.expandImages(backbone.chatTemplate.render(messages, addGenerationPrompt: false),
                                            tokens: [tiles.shape[0] * backbone.model.config.tokensPerTile])
        XCTAssertEqual(conversation.tokens.map { $0 < 0 ? backbone.imageTokenId : $0 }, ids, "the same tokens, image tokens keyed")
        try Autograd.noGrad {
            let logits = try backbone.model(ids: Tensor(ids.map(Int64.init), shape: [1, ids.count]), tiles: Tensor(tiles.values, shape: tiles.shape))
            let expected = try logits.squeeze(0).indexSelect(dim: 0, index: Tensor(conversation.readPositions.map(Int64.init))).logSoftmax(dim: -1)
            assertClose(try prm.labelLogProbabilities(conversation).doubles(), try expected.doubles(), atol: 1e-4)
        }
    }
}
